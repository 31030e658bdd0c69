"""Live responses: seeded from domain.yml, edited in versions, served to Rasa through /nlg."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.auth.models import AuditLog
from api.messaging.texts import catalog
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.asyncio


def _nlg_request(name: str, slots: dict | None = None) -> dict:
    return {"response": name, "arguments": {}, "id": None, "channel": {"name": "rest"},
            "tracker": {"sender_id": "telegram:abc", "slots": slots or {}, "latest_message": {}, "events": []}}


async def test_seeded_responses_are_listed_with_live_variations(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    listed = (await client.get("/api/v1/responses", headers=headers)).json()
    by_name = {r["name"]: r for r in listed}
    # The domain's responses, and the gateway's own texts seeded from the code's catalogue.
    domain = {"utter_greet", "utter_ask_hotline_111", "utter_disclosure_sexual_abuse", "utter_default", "utter_thank"}
    assert set(by_name) == domain | {text.name for text in catalog()}
    disclosure = by_name["utter_disclosure_sexual_abuse"]
    assert disclosure["variations"][0]["buttons"] == [{"title": "Nói chuyện với tư vấn viên",
                                                       "payload": "/request_counselor"}]
    assert disclosure["live_version"] == 1
    # 111 in the default text, or a safety name prefix, makes a response safety-critical.
    assert {n for n, r in by_name.items() if r["safety_critical"]} & domain == {
        "utter_ask_hotline_111", "utter_disclosure_sexual_abuse", "utter_default"}
    assert (await client.get("/api/v1/responses")).status_code == 401


async def test_seeding_is_idempotent_and_keeps_edits(client: httpx.AsyncClient, app: FastAPI) -> None:
    from api.content.setup import seed

    headers = staff_token(app, "lan@example.org")
    await client.post("/api/v1/responses/utter_thank/versions", headers=headers,
                      json={"variations": [{"text": "Cảm ơn em nhiều nha!"}]})
    seed(app.state.context.database, app.state.context.settings)
    versions = (await client.get("/api/v1/responses/utter_thank/versions", headers=headers)).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["status"] == "live" and versions[1]["status"] == "superseded"


async def test_an_edit_takes_effect_on_the_next_nlg_request(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    before = (await client.post("/nlg", json=_nlg_request("utter_greet", {"name": "Minh"}))).json()
    assert before["text"] == "Chào Minh! Mình là bạn đồng hành của chương trình."
    saved = await client.post("/api/v1/responses/utter_greet/versions", headers=headers, json={
        "variations": [{"text": "Xin chào {name} 👋 Tháng hành động vì trẻ em!",
                        "buttons": [{"title": "Đố vui", "payload": "/quiz"}]}]})
    assert saved.status_code == 201 and saved.json()["status"] == "live"
    after = (await client.post("/nlg", json=_nlg_request("utter_greet", {"name": "Minh"}))).json()
    assert after == {"text": "Xin chào Minh 👋 Tháng hành động vì trẻ em!",
                     "buttons": [{"title": "Đố vui", "payload": "/quiz"}]}
    # Unknown responses are 404 so Rasa uses domain.yml; malformed requests are a clear 4xx.
    assert (await client.post("/nlg", json=_nlg_request("utter_nope"))).status_code == 404
    assert (await client.post("/nlg", content=b"{oops", headers={"content-type": "application/json"})
            ).status_code == 400
    assert (await client.post("/nlg", json={"arguments": {}})).status_code == 422
    with app.state.context.database.session() as session:
        audit_actions = list(session.scalars(select(AuditLog.action)
                                             .where(AuditLog.target == "response:utter_greet")))
    assert audit_actions == ["content.response.save"]


async def test_safety_critical_edit_without_111_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    answer = await client.post("/api/v1/responses/utter_disclosure_sexual_abuse/versions", headers=headers,
                               json={"variations": [{"text": "Em hãy gọi 111 nhé."},
                                                    {"text": "Em hãy kể với người lớn em tin tưởng."}]})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "phải có số tổng đài 111" in detail and "must contain the 111 hotline" in detail
    assert "biến thể 2" in detail and "variation 2" in detail
    versions = (await client.get("/api/v1/responses/utter_disclosure_sexual_abuse/versions",
                                 headers=headers)).json()["versions"]
    assert [v["version"] for v in versions] == [1]
    # "1111" or "0111" is not the hotline either.
    answer = await client.post("/api/v1/responses/utter_default/versions", headers=headers,
                               json={"variations": [{"text": "Gọi 1111 nhé."}]})
    assert answer.status_code == 422


async def test_safety_critical_edit_waits_for_a_second_person(client: httpx.AsyncClient, app: FastAPI) -> None:
    author = staff_token(app, "lan@example.org")
    second = staff_token(app, "hoa@example.org")
    new_text = "Cảm ơn em đã tin tưởng kể cho mình. Em không có lỗi. Gọi 111 (miễn phí, 24/7) nhé."
    saved = await client.post("/api/v1/responses/utter_disclosure_sexual_abuse/versions", headers=author,
                              json={"variations": [{"text": new_text}]})
    assert saved.status_code == 201 and saved.json()["status"] == "pending"
    served = (await client.post("/nlg", json=_nlg_request("utter_disclosure_sexual_abuse"))).json()
    assert served["text"].startswith("Cảm ơn em đã kể.")  # still the approved version

    own = await client.post("/api/v1/responses/utter_disclosure_sexual_abuse/versions/2/approve", headers=author)
    assert own.status_code == 403 and "người thứ hai" in own.json()["detail"]
    approved = await client.post("/api/v1/responses/utter_disclosure_sexual_abuse/versions/2/approve",
                                 headers=second)
    assert approved.status_code == 200
    assert approved.json()["status"] == "live" and approved.json()["approved_by"] == "hoa@example.org"
    served = (await client.post("/nlg", json=_nlg_request("utter_disclosure_sexual_abuse"))).json()
    assert served["text"] == new_text
    again = await client.post("/api/v1/responses/utter_disclosure_sexual_abuse/versions/2/approve", headers=second)
    assert again.status_code == 409


async def test_rollback_diff_and_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    staff = staff_token(app, "lan@example.org")
    reviewer = staff_token(app, "sup@example.org", role="supervisor")
    counselor = staff_token(app, "tv@example.org", role="counselor")
    await client.post("/api/v1/responses/utter_ask_hotline_111/versions", headers=staff,
                      json={"variations": [{"text": "Gọi 111: miễn phí, 24/7, ai cũng gọi được."}]})
    await client.post("/api/v1/responses/utter_ask_hotline_111/versions/2/approve", headers=reviewer)
    diff = (await client.get("/api/v1/responses/utter_ask_hotline_111/diff?from=1&to=2", headers=staff)).json()
    assert "-Tổng đài 111 miễn phí, 24/7." in diff["diff"]
    assert "+Gọi 111: miễn phí, 24/7, ai cũng gọi được." in diff["diff"]

    rolled = await client.post("/api/v1/responses/utter_ask_hotline_111/versions/1/rollback", headers=staff)
    assert rolled.status_code == 201
    assert rolled.json()["version"] == 3 and rolled.json()["status"] == "pending"
    assert rolled.json()["rollback_of"] == 1
    await client.post("/api/v1/responses/utter_ask_hotline_111/versions/3/approve", headers=reviewer)
    served = (await client.post("/nlg", json=_nlg_request("utter_ask_hotline_111"))).json()
    assert served["text"] == "Tổng đài 111 miễn phí, 24/7."

    # Counselors do not edit content; supervisors approve but do not write.
    assert (await client.post("/api/v1/responses/utter_thank/versions", headers=counselor,
                              json={"variations": [{"text": "x"}]})).status_code == 403
    assert (await client.post("/api/v1/responses/utter_thank/versions", headers=reviewer,
                              json={"variations": [{"text": "x"}]})).status_code == 403
    # Non-critical rollback is live at once.
    await client.post("/api/v1/responses/utter_thank/versions", headers=staff, json={"variations": [{"text": "A"}]})
    rolled = (await client.post("/api/v1/responses/utter_thank/versions/1/rollback", headers=staff)).json()
    assert rolled["status"] == "live"
    preview = (await client.post("/api/v1/responses/utter_default/preview", headers=staff, json={
        "variations": [{"text": "Chào {name}", "buttons": [{"title": "Có", "payload": "/affirm"}]}],
        "slots": {"name": "Mai"}})).json()
    assert preview["rendered"][0]["text"] == "Chào Mai"
    # As the Zalo sender writes it: the numbered list, then the live choice hint.
    assert preview["rendered"][0]["zalo_text"] == "Chào Mai\n\n1. Có\n(Bạn nhắn số để chọn nhé.)"
    assert preview["problems"] and "111" in preview["problems"][0]


async def test_the_console_warns_on_the_writing_rules_without_blocking(client: httpx.AsyncClient,
                                                                        app: FastAPI) -> None:
    """docs/content.md's rules (api/content/safe_words.py): a warning in the preview and after saving."""
    staff = staff_token(app, "lan@example.org")
    preview = (await client.post("/api/v1/responses/utter_default/preview", headers=staff, json={
        "variations": [{"text": "Gọi 111 nhé, những gì em kể được giữ bí mật.",
                        "buttons": [{"title": "Để sau", "payload": "/deny"}]}]})).json()
    assert preview["problems"] == []  # 111 is there: saving is allowed
    warnings = " ".join(preview["warnings"])
    assert "bí mật" in warnings and "“em”" in warnings and preview["warnings"][0].startswith("Biến thể 1:")
    clean = (await client.post("/api/v1/responses/utter_default/preview", headers=staff, json={
        "variations": [{"text": "Mình chưa hiểu. Cần giúp ngay, gọi 111."}]})).json()
    assert clean["warnings"] == []
    saved = await client.post("/api/v1/responses/utter_thank/versions", headers=staff,
                              json={"variations": [{"text": "Cảm ơn em nhiều nha!"}]})
    assert saved.status_code == 201 and saved.json()["status"] == "live"
    assert any("“em”" in w for w in saved.json()["warnings"])


async def test_a_new_default_in_domain_yml_replaces_an_unedited_response_only(client: httpx.AsyncClient,
                                                                            app: FastAPI) -> None:
    from api.content.responses import load_domain_responses, seed_responses

    staff = staff_token(app, "lan@example.org")
    await client.post("/api/v1/responses/utter_thank/versions", headers=staff,
                      json={"variations": [{"text": "Cảm ơn bạn nhiều nha!"}]})
    from pathlib import Path

    defaults = load_domain_responses(Path(app.state.context.settings.domain_path))
    defaults["utter_greet"] = [{"text": "Chào bạn, mình nghe đây.", "buttons": []}]
    defaults["utter_thank"] = [{"text": "Không có gì!", "buttons": []}]
    for _ in range(2):  # the second run changes nothing
        with app.state.context.database.transaction() as session:
            seed_responses(session, defaults)
    greet = (await client.get("/api/v1/responses/utter_greet/versions", headers=staff)).json()["versions"]
    assert [(v["version"], v["status"], v["author"]) for v in greet] == [(2, "live", "domain.yml"),
                                                                         (1, "superseded", "domain.yml")]
    assert greet[0]["variations"][0]["text"] == "Chào bạn, mình nghe đây."
    thank = (await client.get("/api/v1/responses/utter_thank/versions", headers=staff)).json()["versions"]
    assert thank[0]["author"] != "domain.yml" and thank[0]["status"] == "live"  # staff's edit stays
