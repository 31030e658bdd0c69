"""Canned replies: seeded by situation, read by every case worker, edited by supervisors, and the
content console's 111 rule on the safety-critical ones."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from tests.gateway.casework.helpers import app_of

pytestmark = pytest.mark.asyncio


async def test_library_seeded_by_situation(staff_client: httpx.AsyncClient, staff: dict) -> None:
    replies = (await staff_client.get("/api/v1/canned-replies", headers=staff["counselor"])).json()
    situations = {r["situation"] for r in replies}
    assert {"Kế hoạch an toàn", "Cách gọi 111", "Kết thúc ấm áp", "Ngoài giờ trực"} <= situations
    for reply in replies:
        if reply["safety_critical"]:
            assert "111" in reply["text"]
    assert any(not r["safety_critical"] for r in replies)
    assert (await staff_client.get("/api/v1/canned-replies")).status_code == 401


async def test_supervisors_edit_and_the_111_rule_holds(staff_client: httpx.AsyncClient, staff: dict) -> None:
    supervisor, counselor = staff["supervisor"], staff["counselor"]
    replies = (await staff_client.get("/api/v1/canned-replies", headers=counselor)).json()
    call_111 = next(r for r in replies if r["key"] == "how_to_call_111")
    listening = next(r for r in replies if r["key"] == "listening")
    no_hotline = {"situation": call_111["situation"], "title": call_111["title"],
                  "text": "Bạn hãy gọi cho tổng đài nhé, họ sẽ giúp bạn."}
    assert (await staff_client.put(f"/api/v1/canned-replies/{call_111['id']}", headers=counselor,
                                   json=no_hotline)).status_code == 403
    refused = await staff_client.put(f"/api/v1/canned-replies/{call_111['id']}", headers=supervisor, json=no_hotline)
    assert refused.status_code == 422
    assert "111" in refused.json()["detail"] and " / " in refused.json()["detail"]
    unchanged = (await staff_client.get("/api/v1/canned-replies", headers=counselor)).json()
    assert next(r for r in unchanged if r["id"] == call_111["id"])["text"] == call_111["text"]

    edited = await staff_client.put(f"/api/v1/canned-replies/{call_111['id']}", headers=supervisor, json={
        **no_hotline, "text": "Bạn bấm 111, gọi miễn phí cả ngày lẫn đêm nhé."})
    assert edited.status_code == 200 and edited.json()["safety_critical"] is True

    # A reply that was not safety-critical becomes so when it names an emergency number.
    to_police = await staff_client.put(f"/api/v1/canned-replies/{listening['id']}", headers=supervisor, json={
        "situation": listening["situation"], "title": listening["title"], "text": "Nguy hiểm thì gọi 113 nhé."})
    assert to_police.status_code == 422
    created = await staff_client.post("/api/v1/canned-replies", headers=supervisor, json={
        "situation": "Chào hỏi", "title": "Chào bạn", "text": "Chào bạn, mình là tư vấn viên."})
    assert created.status_code == 201 and created.json()["safety_critical"] is False
    assert (await staff_client.post("/api/v1/canned-replies", headers=supervisor, json={
        "situation": "Khẩn cấp", "title": "Gọi cấp cứu", "text": "Gọi 115 ngay."})).status_code == 422
    assert (await staff_client.post("/api/v1/canned-replies", headers=counselor, json={
        "situation": "Chào hỏi", "title": "Khác", "text": "Chào bạn."})).status_code == 403
    assert (await staff_client.post("/api/v1/canned-replies", headers=supervisor, json={
        "situation": " ", "title": "x", "text": "y"})).status_code == 422

    removed = await staff_client.delete(f"/api/v1/canned-replies/{created.json()['id']}", headers=supervisor)
    assert removed.status_code == 204
    left = (await staff_client.get("/api/v1/canned-replies", headers=counselor)).json()
    assert created.json()["id"] not in [r["id"] for r in left]
    assert (await staff_client.delete(f"/api/v1/canned-replies/{created.json()['id']}",
                                      headers=supervisor)).status_code == 404
    with app_of(staff_client).state.context.database.session() as session:
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("canned_reply.%"))))
        assert sorted(actions) == ["canned_reply.create", "canned_reply.delete", "canned_reply.update"]
