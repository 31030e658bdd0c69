"""End to end through the fake Telegram server: disclosure → case → console notification →
a counselor accepts → the bot is silent → the counselor's replies are delivered → hand back →
the bot resumes. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cases.models import Case, CaseMessage
from api.cases.service import HANDOFF_FREE, HANDOFF_OFFLINE
from api.labels import CATEGORIES as CATEGORY_LABELS
from api.settings import Settings
from tests.gateway.cases.sse import EventReader
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, sticker_update, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    COUNSELOR_GROUP,
    create_staff,
    login,
    staff_settings,
)
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHILD = 5550001


def _texts(fake_telegram: FakeTelegram, chat: int | str) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


async def test_disclosure_to_counselor_and_back(settings: Settings, fake_telegram: FakeTelegram,
                                                fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            assert (await http.get("/api/v1/cases")).status_code == 401
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            lan = await create_staff(http, admin, "lan@example.vn", name="Chị Lan")
            minh = await create_staff(http, admin, "minh@example.vn", name="Anh Minh")
            staff = await create_staff(http, admin, "campaign@example.vn", role="campaign_staff")

            async with EventReader(gateway.url, lan) as events:
                disclosure = text_update(CHILD, "cứu em với, bố em đang đánh em")
                assert (await post_update(http, disclosure)).status_code == 200

                # The console hears about it (how fast: `make bench-escalation`).
                await eventually(lambda: events.of_type("case_opened"), what="SSE case_opened")
                opened = events.of_type("case_opened")[0]
                assert opened["escalated"] and opened["case"]["level"] == "imminent"
                assert opened["case"]["status"] == "waiting"
                case_id = opened["case"]["id"]

                # The child gets the bot's safe reply and the honest handoff message (Lan is online and free).
                await eventually(lambda: len(_texts(fake_telegram, CHILD)) >= 2, what="bot reply + handoff")
                child_texts = _texts(fake_telegram, CHILD)
                assert "111" in child_texts[0] and child_texts[1] == HANDOFF_FREE.default

                # The on-call group: level, category, console link; never the child's id or words.
                # (Sent at intake, so the category is the one the case was opened with.)
                await eventually(lambda: _texts(fake_telegram, COUNSELOR_GROUP), what="group alert")
                alert = _texts(fake_telegram, COUNSELOR_GROUP)[0]
                assert "KHẨN CẤP" in alert and CATEGORY_LABELS[opened["case"]["category"]] in alert
                assert "cứu em" not in alert and "đánh" not in alert
                assert f"/console#case-{case_id}" in alert and str(CHILD) not in alert

                queue = (await http.get("/api/v1/cases", headers=lan)).json()
                assert [(c["id"], c["status"]) for c in queue] == [(case_id, "waiting")]
                assert (await http.get(f"/api/v1/cases/{case_id}", headers=staff)).status_code == 403

                # Two counselors press accept at the same moment: exactly one wins.
                first, second = await asyncio.gather(http.post(f"/api/v1/cases/{case_id}/accept", headers=lan),
                                                     http.post(f"/api/v1/cases/{case_id}/accept", headers=minh))
                assert sorted([first.status_code, second.status_code]) == [200, 409]
                holder = lan if first.status_code == 200 else minh
                other = minh if holder is lan else lan
                await eventually(lambda: fake_rasa.paused, what="rasa pause")
                await eventually(lambda: any("đã có tư vấn viên nhận" in t and f"#{case_id}" in t
                                             for t in _texts(fake_telegram, COUNSELOR_GROUP)), what="group told")
                sender = next(iter(fake_rasa.paused))
                assert sender.startswith("telegram:") and str(CHILD) not in sender

                # While held: the bot is silent, the child's words reach the console live.
                await drained(gateway.app)  # the "counselor joined" notice queued by the accept is out
                before = len(_texts(fake_telegram, CHILD))
                await post_update(http, text_update(CHILD, "em sợ lắm, em đang trốn trong phòng"))
                await eventually(lambda: any(e.get("author") == "child" and "trốn" in e.get("text", "")
                                             for e in events.of_type("case_message")), what="live child message")
                await drained(gateway.app)
                assert len(_texts(fake_telegram, CHILD)) == before

                await post_update(http, sticker_update(CHILD))
                await eventually(lambda: any("nhãn dán" in e.get("text", "") for e in events.of_type("case_message")),
                                 what="sticker shown to the counselor")
                assert len(_texts(fake_telegram, CHILD)) == before  # no bot reply to the sticker either

                # Only the holder may reply; the reply goes out through the outbox.
                assert (await http.post(f"/api/v1/cases/{case_id}/messages", headers=other,
                                        json={"text": "xin chào"})).status_code == 403
                reply = await http.post(f"/api/v1/cases/{case_id}/messages", headers=holder,
                                        json={"text": "Chị ở đây rồi. Em có an toàn không?"})
                assert reply.status_code == 202
                await eventually(lambda: any(t.endswith(": Chị ở đây rồi. Em có an toàn không?")
                                             for t in _texts(fake_telegram, CHILD)), what="counselor reply delivered")
                assert (await http.post(f"/api/v1/cases/{case_id}/notes", headers=holder,
                                        json={"text": "Trẻ đang trốn, đã hướng dẫn gọi 113"})).status_code == 201

                # Hand back: Rasa resumes and the child gets a gentle check-in.
                back = await http.post(f"/api/v1/cases/{case_id}/handback", headers=holder,
                                       json={"note": "Trẻ đã an toàn, mẹ đã về"})
                assert back.status_code == 200 and back.json()["status"] == "open"
                assert not fake_rasa.paused
                assert fake_rasa.triggered and fake_rasa.triggered[-1][1]["name"] == "EXTERNAL_checkin"
                await eventually(lambda: any("quay lại" in t for t in _texts(fake_telegram, CHILD)), what="check-in")

                # The bot speaks again, and the child's later messages join the same case history.
                await post_update(http, text_update(CHILD, "em cảm ơn"))
                await eventually(lambda: "Mình nghe rồi: em cảm ơn" in _texts(fake_telegram, CHILD), what="bot reply")
                detail = (await http.get(f"/api/v1/cases/{case_id}", headers=holder)).json()
                authors_texts = [(m["author"], m["text"]) for m in detail["messages"]]
                assert ("child", "cứu em với, bố em đang đánh em") in authors_texts
                assert ("child", "em sợ lắm, em đang trốn trong phòng") in authors_texts
                assert ("counselor", "Chị ở đây rồi. Em có an toàn không?") in authors_texts
                assert [m["delivery"] for m in detail["messages"] if m["author"] == "counselor"] == ["sent"]
                assert ("child", "em cảm ơn") in authors_texts
                assert detail["notes"][0]["text"] == "Trẻ đang trốn, đã hướng dẫn gọi 113"
                assert detail["conversation_state"] == "bot"

                closed = await http.post(f"/api/v1/cases/{case_id}/close", headers=holder,
                                         json={"outcome": "referred_111", "note": "Đã chuyển 111"})
                assert closed.status_code == 200 and closed.json()["status"] == "closed"
                bad = await http.post(f"/api/v1/cases/{case_id}/close", headers=holder, json={"outcome": "x"})
                assert bad.status_code == 422

        with gateway.app.state.context.database.session() as session:
            case = session.get(Case, case_id)
            assert case.outcome == "referred_111" and case.level == "imminent"
            stored = list(session.scalars(select(CaseMessage.text_encrypted)))
            crypto = gateway.app.state.context.crypto
            plain = [crypto.decrypt(s) for s in stored]
            assert "em sợ lắm, em đang trốn trong phòng" in plain
            assert not any(p in s for s in stored for p in plain)  # encrypted at rest
            actions = set(session.scalars(select(AuditLog.action)))
            assert {"case.list", "case.view", "case.accept", "case.accept_refused", "case.reply", "case.note",
                    "case.handback", "case.close"} <= actions


async def test_nobody_online_gets_the_honest_message(settings: Settings, fake_telegram: FakeTelegram,
                                                     fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            await post_update(http, text_update(CHILD, "cứu em"))
            await eventually(lambda: len(_texts(fake_telegram, CHILD)) >= 2, what="reply + handoff")
            assert _texts(fake_telegram, CHILD)[1] == HANDOFF_OFFLINE.default
            assert "111" in HANDOFF_OFFLINE.default


async def test_action_server_down_case_from_model_parse(settings: Settings, fake_telegram: FakeTelegram,
                                                        fake_rasa: FakeRasa) -> None:
    """No risk payload in the replies (action server down): the gateway asks /model/parse."""
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            await post_update(http, text_update(CHILD, "cứu em norisk"))
            await eventually(lambda: len(_texts(fake_telegram, CHILD)) >= 2, what="reply + handoff")
            assert fake_rasa.parses, "the gateway must read the risk with /model/parse"
            assert "111" in _texts(fake_telegram, CHILD)[0]
            assert "111" in _texts(fake_telegram, CHILD)[1]
            with gateway.app.state.context.database.session() as session:
                case = session.scalar(select(Case))
                assert case is not None and case.level == "imminent" and case.status == "waiting"


async def test_overdue_case_renotifies_and_alerts_supervisors(settings: Settings, fake_telegram: FakeTelegram,
                                                              fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings, escalation_minutes_imminent=0,
                                    telegram_supervisor_chat_id="-1009999")) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            await post_update(http, text_update(CHILD, "cứu em"))
            await eventually(lambda: len(_texts(fake_telegram, "-1009999")) >= 1, what="supervisor alert")
            await eventually(lambda: any("Chưa ai nhận" in t for t in _texts(fake_telegram, COUNSELOR_GROUP)),
                             what="reminder")
            assert "Báo giám sát" in _texts(fake_telegram, "-1009999")[0]


def _graded_risk(text: str) -> dict:
    """The fake Rasa's risk, with a "high" level for sexual abuse wording."""
    lowered = text.lower()
    if "cứu" in lowered:
        return {"level": "imminent", "category": "danger_now", "signals": ["lex:danger:cứu"]}
    if "sờ" in lowered:
        return {"level": "high", "category": "disclose_sexual_abuse", "signals": ["lex:sexual_abuse:sờ"]}
    return {"level": "none", "category": None, "signals": []}


async def test_rising_risk_while_held_and_transfer(settings: Settings, fake_telegram: FakeTelegram,
                                                   fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.gateway.fakes.rasa as fake_rasa_module

    monkeypatch.setattr(fake_rasa_module, "risk_of", _graded_risk)
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            lan = await create_staff(http, admin, "lan@example.vn", name="Chị Lan")
            minh = await create_staff(http, admin, "minh@example.vn", name="Anh Minh")
            minh_id = next(u["id"] for u in (await http.get("/api/v1/users", headers=admin)).json()
                           if u["email"] == "minh@example.vn")
            async with EventReader(gateway.url, minh) as events:
                await post_update(http, text_update(CHILD, "chú ấy hay sờ vào người em"))
                await eventually(lambda: events.of_type("case_opened"), what="case opened")
                case = events.of_type("case_opened")[0]["case"]
                assert (case["level"], case["status"]) == ("high", "waiting")
                assert (await http.post(f"/api/v1/cases/{case['id']}/accept", headers=lan)).status_code == 200

                # Held: the bot is paused, yet the risk is still read (/model/parse) and shown.
                await post_update(http, text_update(CHILD, "cứu em, chú ấy đang ở đây"))
                await eventually(lambda: any(e.get("level_raised") for e in events.of_type("case_updated")),
                                 what="level raised while held")
                await eventually(lambda: any("Mức rủi ro của ca tăng" in t
                                             for t in _texts(fake_telegram, COUNSELOR_GROUP)), what="level-up alert")
                # The intake screen raised the level at the webhook; the held turn's parse comes after it
                # and names the case with the assistant's reading.
                await eventually(lambda: bool(fake_rasa.parses), what="risk read while held")
                detail: dict = {}

                async def renamed() -> bool:
                    detail.update((await http.get(f"/api/v1/cases/{case['id']}", headers=lan)).json())
                    return detail["category"] == "danger_now"

                await eventually(renamed, what="category from the held turn's parse")
                assert detail["level"] == "imminent"
                assert "lex:sexual_abuse:sờ" in detail["signals"] and "lex:danger:cứu" in detail["signals"]

                # Transfer: the new holder may reply, the previous one no longer can.
                moved = await http.post(f"/api/v1/cases/{case['id']}/transfer", headers=lan, json={"user_id": minh_id})
                assert moved.status_code == 200 and moved.json()["assigned_user_id"] == minh_id
                assert (await http.post(f"/api/v1/cases/{case['id']}/messages", headers=lan,
                                        json={"text": "chị đây"})).status_code == 403
                assert (await http.post(f"/api/v1/cases/{case['id']}/messages", headers=minh,
                                        json={"text": "Anh Minh đây, em đang ở phòng nào?"})).status_code == 202
                await eventually(lambda: any(t.endswith(": Anh Minh đây, em đang ở phòng nào?")
                                             for t in _texts(fake_telegram, CHILD)), what="reply from the new holder")
                bad = await http.post(f"/api/v1/cases/{case['id']}/transfer", headers=minh, json={"user_id": 99999})
                assert bad.status_code == 422
                blank = await http.post(f"/api/v1/cases/{case['id']}/messages", headers=minh, json={"text": "   "})
                assert blank.status_code == 422


async def test_a_reply_that_cannot_be_delivered_is_shown_as_failed(settings: Settings, fake_telegram: FakeTelegram,
                                                                   fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            lan = await create_staff(http, admin, "lan@example.vn")
            await post_update(http, text_update(CHILD, "cứu em"))
            await eventually(lambda: len(_texts(fake_telegram, CHILD)) >= 2, what="reply + handoff")
            case_id = (await http.get("/api/v1/cases", headers=lan)).json()[0]["id"]
            assert (await http.post(f"/api/v1/cases/{case_id}/accept", headers=lan)).status_code == 200
            fake_telegram.block_chat(str(CHILD))  # the child blocked the bot
            await http.post(f"/api/v1/cases/{case_id}/messages", headers=lan, json={"text": "Em ơi?"})

            async def delivery_is_failed() -> bool:
                detail = (await http.get(f"/api/v1/cases/{case_id}", headers=lan)).json()
                return [m["delivery"] for m in detail["messages"] if m["author"] == "counselor"] == ["failed"]

            await eventually(delivery_is_failed, what="the reply shown as failed")
