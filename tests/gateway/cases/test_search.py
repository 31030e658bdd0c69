"""GET /api/v1/cases as a search: filters, reference number and notes, pages, audit, bad input."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff, update_case

pytestmark = pytest.mark.asyncio


async def test_filters_reference_notes_pages_and_audit(settings: Settings) -> None:
    async with served(settings) as http:
        app = app_of(http)
        lan_id, lan = staff(app, "lan@example.vn", "counselor")
        bullying = disclose(app, "telegram", "1", "a", "em bị bắt nạt", "concern", "disclose_bullying")
        abuse = disclose(app, "telegram", "2", "b", "chú ấy sờ em", "high", "disclose_sexual_abuse")
        danger = disclose(app, "zalo", "3", "c", "cứu em", "imminent", "disclose_physical_abuse")
        update_case(app, abuse, status="active", assigned_user_id=lan_id)
        update_case(app, bullying, opened_at=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
        assert (await http.post(f"/api/v1/cases/{danger}/notes", headers=lan,
                                json={"text": "Đã gọi Nhà văn hóa phường, trẻ an toàn"})).status_code == 201
        _, supervisor = staff(app, "hoa@example.vn", "supervisor")  # nobody accepted it: a supervisor closes
        closed = await http.post(f"/api/v1/cases/{danger}/close", headers=supervisor,
                                 json={"outcome": "advised", "reason": "Đã gọi xác minh, trẻ an toàn"})
        assert closed.status_code == 200, closed.text

        async def ids(query: str) -> list[int]:
            response = await http.get(f"/api/v1/cases{query}", headers=lan)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()]

        assert await ids("") == [abuse, bullying]  # not closed, risk first
        assert await ids("?status=all") == [danger, abuse, bullying]
        assert await ids("?status=all&level=imminent,concern") == [danger, bullying]
        assert await ids("?status=all&category=disclose_sexual_abuse") == [abuse]
        assert await ids(f"?status=all&counselor={lan_id}") == [abuse]
        assert await ids("?status=all&from=2026-03-10&to=2026-03-10") == [bullying]
        today = datetime.now(UTC).date()
        assert await ids(f"?status=all&from={today - timedelta(days=1)}") == [danger, abuse]
        # Commune/ward comes from the case record: without one, every case is "chưa rõ".
        assert await ids("?status=all&commune=chưa rõ") == [danger, abuse, bullying]
        assert await ids("?status=all&commune=Phường Hòa Cường") == []
        # q: the reference number, or words of the notes (diacritics and case ignored); never messages.
        assert await ids(f"?status=all&q=%23{abuse}") == [abuse]
        assert await ids(f"?status=all&q={bullying}") == [bullying]
        assert await ids("?status=all&q=nha van hoa") == [danger]
        assert await ids("?status=all&q=cứu em") == []  # message text is not searched
        assert await ids("?q=nha van hoa") == []  # the closed case is outside the default statuses

        page = await http.get("/api/v1/cases?status=all&per_page=2", headers=lan)
        assert page.headers["X-Total-Count"] == "3" and len(page.json()) == 2
        assert 'rel="next"' in page.headers["Link"] and "page=2" in page.headers["Link"]
        last = await http.get("/api/v1/cases?status=all&per_page=2&page=2", headers=lan)
        assert [c["id"] for c in last.json()] == [bullying] and "Link" not in last.headers

        for bad in ("?status=everything", "?level=extreme", "?from=2026-05-02&to=2026-05-01", "?from=yesterday",
                    "?page=0", "?per_page=100000", "?counselor=0"):
            response = await http.get(f"/api/v1/cases{bad}", headers=lan)
            assert response.status_code == 422, bad
        campaign_id, campaign = staff(app, "camp@example.vn", "campaign_staff")
        assert (await http.get("/api/v1/cases", headers=campaign)).status_code == 403

        with app.state.context.database.session() as session:
            entries = list(session.scalars(select(AuditLog).where(AuditLog.action == "case.list")))
        assert len(entries) == 16 and all(e.user_id == lan_id for e in entries)
        searched = [e.details for e in entries if e.details.get("q")]
        assert searched and all("van" not in str(d) for d in searched)  # the words searched are not kept
