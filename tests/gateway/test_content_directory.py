"""The help directory: national numbers only at first, CSV import/export, search with or without
diacritics, and local help offered after the bot's answer."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.content_support import settings, staff_token  # noqa: F401  (fixture override)
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.telegram_updates import post_update, text_update
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio

CSV = (
    "name,kind,province,district,commune,phone,hours\n"
    "Phòng LĐTBXH Tam Kỳ,child_protection_officer,Quảng Nam,Tam Kỳ,,0235 3000 001,7:30-17:00\n"
    "Công an phường An Mỹ,police,Quảng Nam,Tam Kỳ,An Mỹ,0235 3000 002,24/7\n"
    "Trung tâm y tế Hội An,health,Quảng Nam,Hội An,,0235 3000 003,24/7\n"
)


async def _import(client: httpx.AsyncClient, headers: dict[str, str], content: str) -> httpx.Response:
    return await client.post("/api/v1/directory/import", headers=headers,
                             files={"file": ("directory.csv", content.encode("utf-8"), "text/csv")})


async def test_ships_with_national_numbers_only(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    entries = (await client.get("/api/v1/directory", headers=headers)).json()
    assert [e["phone"] for e in entries] == ["111", "113", "115"]
    assert all(e["national"] for e in entries)


async def test_csv_import_export_and_search_with_and_without_diacritics(client: httpx.AsyncClient,
                                                                        app: FastAPI) -> None:
    headers = staff_token(app, "lan@example.org")
    bad = await _import(client, headers, CSV + "Nơi lạ,unknown_kind,Quảng Nam,,,0235,\n")
    assert bad.status_code == 422 and "dòng 5" in bad.json()["detail"]
    assert len((await client.get("/api/v1/directory", headers=headers)).json()) == 3  # nothing stored
    assert (await _import(client, headers, CSV)).json() == {"imported": 3}

    for query in ("Tam Kỳ", "tam ky", "TAM KY"):
        found = (await client.get("/api/v1/directory/search", params={"q": query})).json()
        assert [e["phone"] for e in found] == ["111", "0235 3000 002", "0235 3000 001"], query
    found = (await client.get("/api/v1/directory/search", params={"q": "hoi an"})).json()
    assert [e["name"] for e in found] == ["Tổng đài quốc gia bảo vệ trẻ em", "Trung tâm y tế Hội An"]
    found = (await client.get("/api/v1/directory/search", params={"q": "Đà Lạt"})).json()
    assert [e["phone"] for e in found] == ["111"]

    exported = (await client.get("/api/v1/directory/export.csv", headers=headers)).text
    assert exported.splitlines()[0] == "name,kind,province,district,commune,phone,hours"
    assert "Công an phường An Mỹ,police,Quảng Nam,Tam Kỳ,An Mỹ,0235 3000 002,24/7" in exported
    assert (await client.get("/api/v1/directory/export.csv")).status_code == 401


async def test_asking_for_help_nearby_gets_local_entries_with_111_first(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    headers = staff_token(app, "lan@example.org")
    await _import(client, headers, CSV)
    for chat, text in ((901, "ở Tam Kỳ có chỗ nào giúp em không"), (902, "o tam ky co cho nao giup em ko")):
        assert (await post_update(client, text_update(chat, text))).status_code == 200
        await eventually(lambda chat=chat: len(fake_telegram.sent(chat)) == 2, what="bot answer and local help")
        help_text = fake_telegram.sent(chat)[1]["text"]
        lines = help_text.splitlines()
        assert "111" in lines[1]
        assert "Công an phường An Mỹ" in help_text and "Phòng LĐTBXH Tam Kỳ" in help_text
        assert "Hội An" not in help_text
    # A story that names a place is not a request for the directory.
    assert (await post_update(client, text_update(903, "hôm qua em đi chơi ở Tam Kỳ"))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(903)) == 1, what="bot answer")
    await drained(app)  # a second message, which must not come, would be queued by now
    assert len(fake_telegram.sent(903)) == 1
