"""What campaign staff read in the content console's API: titles for every response, search with or
without diacritics, an inbox without internal codes, and a directory that imports and exports the way a
spreadsheet does (Vietnamese headers and kinds, a byte order mark, re-import updates instead of duplicating)."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import select

from api.content import inbox
from api.content.titles import has_title, title_of
from api.content.topics import topic_label
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import Risk
from api.messaging.texts import catalog
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:[+-]\d{2}:\d{2}|Z)?")
INTERNAL_CODE = re.compile(r"\b(utter_|disclose_|ask_|EXTERNAL_|nlu_fallback|report_third_party|request_counselor"
                           r"|greet\b|out_of_scope)")
CSV_EN = (
    "name,kind,province,commune,phone,hours\n"
    "Cán bộ bảo vệ trẻ em phường Tam Kỳ,child_protection_officer,Đà Nẵng,Tam Kỳ,0235 3000 001,7:30-17:00\n"
    "Công an phường Bàn Thạch,police,Đà Nẵng,Phường Bàn Thạch,0235 3000 002,24/7\n"
)


async def _import(client: httpx.AsyncClient, headers: dict[str, str], content: bytes) -> httpx.Response:
    return await client.post("/api/v1/directory/import", headers=headers,
                             files={"file": ("danh-ba.csv", content, "text/csv")})


def _counts(result: dict[str, object]) -> dict[str, object]:
    return {key: result[key] for key in ("imported", "added", "updated", "unchanged")}


async def test_every_response_of_the_domain_and_every_gateway_text_has_a_title(app: FastAPI) -> None:
    # The app imports every module, so the catalogue holds every gateway text.
    with (Path(__file__).parents[3] / "domain.yml").open(encoding="utf-8") as handle:
        names = set((yaml.safe_load(handle) or {}).get("responses") or {})
    names |= {text.name for text in catalog()}
    assert len(names) > 60
    missing = sorted(n for n in names if not has_title(n))
    assert missing == []
    for name in names:
        titled = title_of(name)
        assert titled["title"] and titled["description"] and "utter_" not in titled["title"]
    fallback = title_of("utter_brand_new_answer")
    assert fallback["title"] == "Câu trả lời khác: brand new answer" and "utter_" not in fallback["title"]


async def test_responses_have_titles_and_search_ignores_diacritics(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    listed = (await client.get("/api/v1/responses", headers=headers)).json()
    by_name = {r["name"]: r for r in listed}
    assert by_name["utter_ask_hotline_111"]["title"] == "Tổng đài 111"
    assert by_name["utter_greet"]["description"] == "Khi người dùng chào bot."
    for query in ("tổng đài", "tong dai", "TONG DAI 111"):
        found = (await client.get("/api/v1/responses", params={"q": query}, headers=headers)).json()
        assert [r["name"] for r in found] == ["utter_ask_hotline_111"], query
    versions = await client.get("/api/v1/responses/utter_greet/versions", headers=headers)
    assert versions.json()["title"] == "Lời chào"
    actions = (await client.get("/api/v1/responses/actions", headers=headers)).json()
    labels = {a["payload"]: a["label"] for a in actions}
    assert labels["/request_counselor"] == "Xin nói chuyện với tư vấn viên"
    assert labels["/ask_hotline_111"] == "Trả lời: Tổng đài 111"
    assert all(not INTERNAL_CODE.search(label) for label in labels.values())


async def test_search_without_diacritics_finds_the_online_safety_answer(client: httpx.AsyncClient,
                                                                        app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    found = (await client.get("/api/v1/responses", params={"q": "an toan mang"}, headers=headers)).json()
    assert found == []  # the small test domain has no such answer: the search filters
    saved = await client.post("/api/v1/responses/utter_thank/versions", headers=headers,
                              json={"variations": [{"text": "Không có gì! Nhớ giữ an toàn trên mạng nhé."}]})
    assert saved.status_code == 201
    found = (await client.get("/api/v1/responses", params={"q": "an toan mang"}, headers=headers)).json()
    assert [r["name"] for r in found] == ["utter_thank"]


async def test_inbox_shows_topic_names_and_a_certainty_word_never_codes(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    assert (await post_update(client, text_update(611, "xin chào"))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(611)) >= 1, what="bot answer")
    with app.state.context.database.transaction() as session:
        conversation = session.scalars(select(Conversation)).one()
        message = session.scalars(select(InboundMessage)).one()
        inbox.record(session, conversation, message, Risk(level="none", intent="ask_hotline_111", confidence=0.229))
        inbox.record(session, conversation, message, Risk(level="none", intent="nlu_fallback", fallback=True))
        inbox.record(session, conversation, message, Risk(level="none", intent="ask_bullying_help",
                                                          confidence=0.41))
        # Read at concern or above: never in the campaign inbox (docs/privacy-access.md).
        inbox.record(session, conversation, message, Risk(level="concern", intent="disclose_bullying",
                                                          confidence=0.41))
    headers = staff_token(app, "lan@example.org")
    response = await client.get("/api/v1/inbox", headers=headers)
    items = response.json()
    assert len(items) == 3
    assert not INTERNAL_CODE.search(response.text), response.text
    # the raw confidences never show; a timestamp's fraction of a second may hold the same digits
    without_times = ISO_TIME.sub("", response.text)
    assert "0.229" not in without_times and "0.41" not in without_times
    by_guess = {i["guess"]: i for i in items}
    assert by_guess["Tổng đài 111"]["certainty"] == "rất không chắc"
    assert by_guess[topic_label("ask_bullying_help")]["certainty"] == "không chắc"
    assert "Kể bị bắt nạt" not in response.text
    assert by_guess[None]["risk_label"] == "Không có dấu hiệu nguy cơ"
    topics = (await client.get("/api/v1/inbox/topics", headers=headers)).json()
    assert {"topic": "ask_local_help", "label": "Tìm nơi giúp đỡ gần mình", "group": "Hỏi thông tin"} in topics
    assert all(not t["topic"].startswith("EXTERNAL_") for t in topics)
    assigned = await client.post(f"/api/v1/inbox/{items[0]['id']}/review", headers=headers,
                                 json={"action": "assign", "topic": "ask_local_help"})
    assert assigned.status_code == 200 and assigned.json()["topic_label"] == "Tìm nơi giúp đỡ gần mình"
    assert not INTERNAL_CODE.search(assigned.text)


async def test_directory_reimport_updates_instead_of_duplicating(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    first = (await _import(client, headers, CSV_EN.encode("utf-8"))).json()
    assert _counts(first) == {"imported": 2, "added": 2, "updated": 0, "unchanged": 0}
    # The style guide warns about what a child reads in the list, and never blocks.
    assert first["warnings"] == ["Công an phường Bàn Thạch: từ khó “24/7”: viết “cả ngày lẫn đêm” / hard word '24/7'"]
    count = len((await client.get("/api/v1/directory", headers=headers)).json())
    again = (await _import(client, headers, CSV_EN.encode("utf-8"))).json()
    assert _counts(again) == {"imported": 2, "added": 0, "updated": 0, "unchanged": 2}
    # The exported file, edited (a new phone number) and imported back: same count, the field updated.
    exported = await client.get("/api/v1/directory/export.csv", headers=headers)
    assert exported.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="danh-ba.csv"' in exported.headers["content-disposition"]
    text = exported.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "Tên,Loại,Tỉnh/thành,Xã/phường,Điện thoại,Giờ làm việc"
    assert "Công an phường Bàn Thạch,Công an,Đà Nẵng,Phường Bàn Thạch,0235 3000 002,24/7" in text
    edited = "\ufeff" + text.replace("0235 3000 002,24/7", "0235 3999 999,cả ngày lẫn đêm")
    result = (await _import(client, headers, edited.encode("utf-8"))).json()
    assert "warnings" not in result
    assert _counts(result) == {"imported": 2, "added": 0, "updated": 1, "unchanged": 1}
    entries = (await client.get("/api/v1/directory", headers=headers)).json()
    assert len(entries) == count
    police = next(e for e in entries if e["name"] == "Công an phường Bàn Thạch")
    assert (police["phone"], police["hours"], police["kind"]) == ("0235 3999 999", "cả ngày lẫn đêm", "police")


async def test_directory_reads_vietnamese_headers_and_kinds(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    csv_vi = ("Ten;Loai;Tinh/thanh;Xa/phuong;So dien thoai;Gio lam viec\n"
              "Trạm y tế phường Hội An;y te;Quảng Nam;phuong hoi an;0235 3000 003;7:00-17:00\n"
              "Nhà tạm lánh Hoa Sen;Nhà tạm lánh;Đà Nẵng;;0235 3000 004;\n")
    result = await _import(client, headers, ("\ufeff" + csv_vi).encode("utf-8"))
    assert result.status_code == 200, result.text
    assert result.json()["added"] == 2
    found = (await client.get("/api/v1/directory/search", params={"q": "hoi an"})).json()
    assert found[1]["kind"] == "health" and found[1]["commune"] == "Phường Hội An"
    bad = await _import(client, headers, "Tên,Loại,Tỉnh/thành,Điện thoại\nNơi lạ,Chợ,Đà Nẵng,0235 1\n".encode())
    assert bad.status_code == 422
    assert "dòng 2" in bad.json()["detail"] and "Công an" in bad.json()["detail"]
    missing = await _import(client, headers, "Tên,Điện thoại\nA,0235 1\n".encode())
    assert missing.status_code == 422 and "Loại (kind)" in missing.json()["detail"]


async def test_one_entry_is_added_edited_and_not_duplicated(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    entry = {"name": "Công an phường Tam Kỳ", "kind": "Công an", "province": "Đà Nẵng", "commune": "Tam Kỳ",
             "phone": "0235 1", "hours": ""}
    added = await client.post("/api/v1/directory", headers=headers, json=entry)
    assert added.status_code == 201 and added.json()["kind"] == "police"
    twice = await client.post("/api/v1/directory", headers=headers, json=entry)
    assert twice.status_code == 409
    changed = await client.put(f"/api/v1/directory/{added.json()['id']}", headers=headers,
                               json={**entry, "phone": "0235 2", "hours": "7:00-17:00"})
    assert changed.status_code == 200 and changed.json()["phone"] == "0235 2"
    national = (await client.get("/api/v1/directory", headers=headers)).json()[0]
    refused = await client.put(f"/api/v1/directory/{national['id']}", headers=headers, json=entry)
    assert refused.status_code == 409
    bad = await client.put(f"/api/v1/directory/{added.json()['id']}", headers=headers,
                           json={**entry, "province": "Tỉnh Không Có"})
    assert bad.status_code == 422
    assert len((await client.get("/api/v1/directory", headers=headers)).json()) == 4
