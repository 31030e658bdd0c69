"""GET /api/v1/cases?commune=…: matched against the (encrypted) case records of the cases the other
filters keep, by folded name (no diacritics, no case, with or without "Phường"/"Xã"); "chưa rõ"
finds the cases with no commune recorded; the bounded reading says when it was cut short."""
from __future__ import annotations

from typing import Any

import pytest

from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff

pytestmark = pytest.mark.asyncio


async def test_commune_filter_reads_the_case_records(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served(settings) as http:
        app = app_of(http)
        _, minh = staff(app, "minh@example.vn", "supervisor")
        tam_ky = disclose(app, "telegram", "1", "a", "bố đánh em", "high", "disclose_physical_abuse")
        tam_ky_concern = disclose(app, "telegram", "2", "b", "em bị bắt nạt", "concern", "disclose_bullying")
        village = disclose(app, "zalo", "3", "c", "em sợ về nhà", "high", "disclose_neglect")
        no_commune = disclose(app, "telegram", "4", "d", "em buồn", "concern", "disclose_bullying")
        no_record = disclose(app, "telegram", "5", "e", "cứu em", "imminent", "disclose_physical_abuse")

        async def record(case_id: int, values: dict[str, Any]) -> None:
            saved = await http.put(f"/api/v1/cases/{case_id}/record", headers=minh, json={"values": values})
            assert saved.status_code == 200, saved.text

        # Saved as the console saves them: "tam ky" is stored as the directory names it.
        await record(tam_ky, {"province": "Quảng Nam", "commune": "tam ky", "age_group": "11_14"})
        await record(tam_ky_concern, {"province": "Đà Nẵng", "commune": "Phường Tam Kỳ"})
        await record(village, {"province": "Đà Nẵng", "commune": "Xã Tam Mỹ"})
        await record(no_commune, {"province": "Đà Nẵng", "age_group": "6_10"})

        async def ids(query: str) -> list[int]:
            response = await http.get(f"/api/v1/cases?status=all&{query}", headers=minh)
            assert response.status_code == 200, response.text
            assert "X-Record-Search-Truncated" not in response.headers
            return sorted(c["id"] for c in response.json())

        for spelling in ("Phường Tam Kỳ", "tam ky", "TAM KỲ", "phuong tam ky", "  Tam Kỳ "):
            assert await ids(f"commune={spelling}") == sorted([tam_ky, tam_ky_concern]), spelling
        assert await ids("commune=xa tam my") == [village]
        assert await ids("commune=Tam Mỹ") == [village]
        assert await ids("commune=Phường Hòa Cường") == []
        assert await ids("commune=Tam") == []  # a name, not a part of one
        for unknown in ("chưa rõ", "Chưa rõ", "chua ro"):
            assert await ids(f"commune={unknown}") == sorted([no_commune, no_record]), unknown
        # With the other filters: only their cases' records are read.
        assert await ids("commune=tam ky&level=high") == [tam_ky]
        assert await ids("commune=chưa rõ&level=imminent") == [no_record]
        assert await ids("commune=tam ky&category=disclose_bullying") == [tam_ky_concern]

        # The reading is bounded (newest cases first): beyond the limit a record is not matched, and
        # the answer says so.
        monkeypatch.setattr("api.casework.attributes.RECORD_SEARCH_LIMIT", 3)
        response = await http.get("/api/v1/cases?status=all&commune=tam ky", headers=minh)
        assert response.headers["X-Record-Search-Truncated"] == "true"
        assert [c["id"] for c in response.json()] == [tam_ky_concern]
