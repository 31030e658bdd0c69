"""A returning child: a new case from the same pseudonymous sender lists the earlier ones (level,
category, outcome, notes) for case workers; other children's cases never appear."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from tests.gateway.casework.helpers import app_of, disclose

pytestmark = pytest.mark.asyncio


async def test_history_of_a_returning_child(staff_client: httpx.AsyncClient, staff: dict) -> None:
    app = app_of(staff_client)
    counselor = staff["counselor"]
    first = disclose(app, "900", "m1", text="bạn cùng lớp đánh em", level="concern", category="disclose_bullying")
    assert (await staff_client.post(f"/api/v1/cases/{first}/notes", headers=counselor,
                                    json={"text": "Đã liên hệ giáo viên chủ nhiệm"})).status_code == 201
    await staff_client.put(f"/api/v1/cases/{first}/record", headers=counselor,
                           json={"values": {"age_group": "11_14", "harm": ["bullying.school"]}})
    closed = await staff_client.post(f"/api/v1/cases/{first}/close", headers=counselor,
                                     json={"outcome": "advised", "note": "Trẻ đã an toàn hơn"})
    assert closed.status_code == 200, closed.text
    disclose(app, "901", "x1", text="em bị đánh", category="disclose_physical_abuse")  # another child

    second = disclose(app, "900", "m2", text="chú hàng xóm sờ em", category="disclose_sexual_abuse")
    assert second != first
    record = (await staff_client.get(f"/api/v1/cases/{second}/record", headers=counselor)).json()
    assert record["earlier_cases"] == 1
    history = await staff_client.get(f"/api/v1/cases/{second}/history", headers=counselor)
    assert history.status_code == 200
    (earlier,) = history.json()
    assert earlier["id"] == first and earlier["level"] == "concern"
    assert earlier["category"] == "disclose_bullying" and earlier["outcome"] == "advised"
    assert [n["text"] for n in earlier["notes"]] == ["Đã liên hệ giáo viên chủ nhiệm", "Trẻ đã an toàn hơn"]
    assert earlier["record"] == {"age_group": "11_14", "harm": ["bullying.school"]}
    assert (await staff_client.get(f"/api/v1/cases/{first}/history", headers=counselor)).json() == []
    assert (await staff_client.get("/api/v1/cases/999999/history", headers=counselor)).status_code == 404
    campaign = await staff_client.post("/api/v1/users", headers=staff["admin"], json={
        "email": "chiendich@example.vn", "password": "counselor-password-1", "role": "campaign_staff"})
    assert campaign.status_code == 201
    login = await staff_client.post("/api/v1/auth/login", json={"email": "chiendich@example.vn",
                                                                 "password": "counselor-password-1"})
    outsider = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await staff_client.get(f"/api/v1/cases/{second}/history", headers=outsider)).status_code == 403
    with app.state.context.database.session() as session:
        assert session.scalar(select(AuditLog).where(AuditLog.action == "case.history",
                                                     AuditLog.target == f"case:{second}")) is not None
