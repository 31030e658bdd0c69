"""The help directory: national numbers only at first, CSV import/export, search with or without
diacritics, and local help offered after the bot's answer. Places are the units since July 2025:
a province and a commune, no district; a former province is read as the one it joined."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_token
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio

CSV = (
    "name,kind,province,commune,phone,hours\n"
    "Cán bộ bảo vệ trẻ em phường Tam Kỳ,child_protection_officer,Đà Nẵng,Tam Kỳ,0235 3000 001,7:30-17:00\n"
    "Công an phường Bàn Thạch,police,Thành phố Đà Nẵng,Phường Bàn Thạch,0235 3000 002,24/7\n"
    "Trạm y tế phường Hội An,health,Quảng Nam,phuong hoi an,0235 3000 003,24/7\n"
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
    bad = await _import(client, headers, CSV + "Nơi lạ,unknown_kind,Đà Nẵng,,0235,\n")
    assert bad.status_code == 422 and "dòng 5" in bad.json()["detail"]
    # Districts are gone since July 2025; communes are the new ones.
    old = await _import(client, headers, "name,kind,province,district,commune,phone,hours\n"
                                         "Phòng LĐTBXH,child_protection_officer,Quảng Nam,Tam Kỳ,,0235 1,\n")
    assert old.status_code == 422 and "huyện" in old.json()["detail"]
    gone = await _import(client, headers, CSV + "Công an,police,Đà Nẵng,An Mỹ,0235 3000 004,\n")
    assert gone.status_code == 422 and "An Mỹ" in gone.json()["detail"]
    unknown = await _import(client, headers, CSV + "Công an,police,Tỉnh Không Có,,0235 3000 004,\n")
    assert unknown.status_code == 422 and "dòng 5" in unknown.json()["detail"]
    assert len((await client.get("/api/v1/directory", headers=headers)).json()) == 3  # nothing stored
    assert (await _import(client, headers, CSV)).json()["imported"] == 3

    for query in ("Tam Kỳ", "tam ky", "TAM KY"):
        found = (await client.get("/api/v1/directory/search", params={"q": query})).json()
        assert [e["phone"] for e in found] == ["111", "0235 3000 001"], query
    found = (await client.get("/api/v1/directory/search", params={"q": "hoi an"})).json()
    assert [e["name"] for e in found] == ["Tổng đài quốc gia bảo vệ trẻ em", "Trạm y tế phường Hội An"]
    assert found[1]["province"] == "Đà Nẵng" and found[1]["commune"] == "Phường Hội An"
    # The former province still finds what is now in Đà Nẵng.
    for query in ("Quảng Nam", "da nang"):
        found = (await client.get("/api/v1/directory/search", params={"q": query})).json()
        assert [e["phone"] for e in found] == ["111", "0235 3000 001", "0235 3000 002", "0235 3000 003"], query
    found = (await client.get("/api/v1/directory/search", params={"q": "Đà Lạt"})).json()
    assert [e["phone"] for e in found] == ["111"]

    exported = (await client.get("/api/v1/directory/export.csv", headers=headers)).text
    assert exported.splitlines()[0] == "\ufeffTên,Loại,Tỉnh/thành,Xã/phường,Điện thoại,Giờ làm việc"
    assert "Công an phường Bàn Thạch,Công an,Đà Nẵng,Phường Bàn Thạch,0235 3000 002,24/7" in exported
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
        assert "Cán bộ bảo vệ trẻ em phường Tam Kỳ – Phường Tam Kỳ, Đà Nẵng" in help_text
        assert "Bàn Thạch" not in help_text and "Hội An" not in help_text
        assert " em" not in help_text.replace("trẻ em", "")
    # A story that names a place is not a request for the directory.
    assert (await post_update(client, text_update(903, "hôm qua em đi chơi ở Tam Kỳ"))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(903)) == 1, what="bot answer")
    await drained(app)  # a second message, which must not come, would be queued by now
    assert len(fake_telegram.sent(903)) == 1
