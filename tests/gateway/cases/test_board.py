"""GET /api/v1/supervisor/board and reassigning from it: waiting time against the accept targets,
breaches, who is online and on call with their load; roles, bad input, audit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cases.models import Case
from api.db.base import utcnow
from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff, update_case

pytestmark = pytest.mark.asyncio


async def test_board_targets_breaches_staff_and_reassign(settings: Settings) -> None:
    async with served(settings, escalation_minutes_imminent=2, escalation_minutes_high=10) as http:
        app = app_of(http)
        lan_id, lan = staff(app, "lan@example.vn", "counselor", "Chị Lan")
        minh_id, minh = staff(app, "minh@example.vn", "counselor", "Anh Minh")
        hoa_id, hoa = staff(app, "hoa@example.vn", "supervisor", "Chị Hoa")
        late = disclose(app, "zalo", "1", "a", "cứu em", "imminent", "disclose_physical_abuse")
        in_time = disclose(app, "telegram", "2", "b", "chú ấy sờ em", "high", "disclose_sexual_abuse")
        held = disclose(app, "telegram", "3", "c", "bố đánh em", "high", "disclose_physical_abuse")
        update_case(app, late, waiting_since=utcnow() - timedelta(minutes=3))
        update_case(app, in_time, waiting_since=utcnow() - timedelta(minutes=4))
        assert (await http.post(f"/api/v1/cases/{held}/accept", headers=lan)).status_code == 200
        roster = {"weekly": [{"user_id": minh_id, "weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]}
        assert (await http.put("/api/v1/roster", headers=hoa, json=roster)).status_code == 200

        assert (await http.get("/api/v1/supervisor/board", headers=lan)).status_code == 403
        board = (await http.get("/api/v1/supervisor/board", headers=hoa)).json()
        assert board["targets"] == {"imminent": 120, "high": 600}
        waiting = {c["id"]: c for c in board["waiting"]}
        assert list(waiting) == [late, in_time]  # the most urgent first
        assert waiting[late]["breach"] and 60 <= waiting[late]["over_target_seconds"] <= 70
        assert not waiting[in_time]["breach"] and waiting[in_time]["target_seconds"] == 600
        assert [c["id"] for c in board["active"]] == [held]
        people = {p["id"]: p for p in board["staff"]}
        assert people[lan_id]["load"] == 1 and people[lan_id]["online"] and not people[lan_id]["on_call"]
        assert people[minh_id]["on_call"] and not people[minh_id]["online"] and people[minh_id]["load"] == 0
        assert board["totals"] == {"waiting": 2, "breaches": 1, "online": 2, "on_call": 1}

        moved = await http.post(f"/api/v1/supervisor/board/cases/{late}/assign", headers=hoa,
                                json={"user_id": minh_id})
        assert moved.status_code == 200 and moved.json()["status"] == "active"
        transferred = await http.post(f"/api/v1/supervisor/board/cases/{held}/assign", headers=hoa,
                                      json={"user_id": minh_id})
        assert transferred.status_code == 200
        with app.state.context.database.session() as session:
            assert {c.id: c.assigned_user_id for c in session.scalars(select(Case))} == {
                late: minh_id, in_time: None, held: minh_id}
            reassigned = list(session.scalars(select(AuditLog).where(AuditLog.action == "board.reassign")))
            assert [(a.user_id, a.target, a.details["to"]) for a in reassigned] == [
                (hoa_id, f"case:{late}", minh_id), (hoa_id, f"case:{held}", minh_id)]
            assert session.scalar(select(AuditLog.id).where(AuditLog.action == "board.view")) is not None

        board = (await http.get("/api/v1/supervisor/board", headers=hoa)).json()
        assert {p["id"]: p["load"] for p in board["staff"]}[minh_id] == 2
        for case_id, body, expected in ((in_time, {"user_id": 99999}, 422), (99999, {"user_id": minh_id}, 404),
                                        (in_time, {"user_id": "x"}, 422), (in_time, {}, 422)):
            response = await http.post(f"/api/v1/supervisor/board/cases/{case_id}/assign", headers=hoa, json=body)
            assert response.status_code == expected, (case_id, body)
        assert (await http.post(f"/api/v1/supervisor/board/cases/{in_time}/assign", headers=minh,
                                json={"user_id": minh_id})).status_code == 403
        assert (await http.post(f"/api/v1/cases/{held}/close", headers=minh,
                                json={"outcome": "advised"})).status_code == 200
        assert (await http.post(f"/api/v1/supervisor/board/cases/{held}/assign", headers=hoa,
                                json={"user_id": lan_id})).status_code == 409
