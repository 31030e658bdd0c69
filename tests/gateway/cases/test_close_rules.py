"""Closing a case: a waiting high or imminent case nobody accepted is refused to a counselor (409),
closed by a supervisor only with a reason (422 without; kept encrypted, audited); an outcome is
always required."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cases.models import Case, CaseNote
from api.main import create_app
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation
from api.messaging.risk import Risk
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login, staff_settings

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(staff_settings(settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http:
            yield http


def _disclose(app, user: str, text: str, risk: Risk) -> int:  # type: ignore[no-untyped-def]
    with app.state.context.database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id=user, platform_message_key=user + text,
                                 kind="text", text=text, crypto=app.state.context.crypto)
        conversation = session.get(Conversation, inbound.conversation_id)
        change = app.state.context.case_log.record_child_message(session, conversation, inbound_id=inbound.id,
                                                                 text=text, risk=risk)
        return int(change.case.id)


async def _staff(http: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    counselor = await create_staff(http, admin, "lan@example.vn", "counselor", "Chị Lan")
    supervisor = await create_staff(http, admin, "minh@example.vn", "supervisor", "Anh Minh")
    return counselor, supervisor


async def test_unaccepted_waiting_high_case_needs_a_supervisor_and_a_reason(api_client: httpx.AsyncClient) -> None:
    app = api_client._transport.app  # type: ignore[attr-defined]
    counselor, supervisor = await _staff(api_client)
    case_id = _disclose(app, "11", "chú hàng xóm sờ vào người em", Risk("high", "disclose_sexual_abuse", []))
    url = f"/api/v1/cases/{case_id}/close"

    refused = await api_client.post(url, headers=counselor, json={"outcome": "referred_111", "reason": "thử"})
    assert refused.status_code == 409
    assert "chưa có ai nhận" in refused.json()["detail"] and "supervisor" in refused.json()["detail"]
    no_reason = await api_client.post(url, headers=supervisor, json={"outcome": "referred_111", "reason": "  "})
    assert no_reason.status_code == 422 and "lý do" in no_reason.json()["detail"]
    with app.state.context.database.session() as session:
        case = session.get(Case, case_id)
        assert case.status == "waiting" and case.outcome is None
        refusals = session.scalars(select(AuditLog).where(AuditLog.action == "case.close_refused")).all()
        assert [r.details["code"] for r in refusals] == [409, 422]

    closed = await api_client.post(url, headers=supervisor, json={
        "outcome": "referred_111", "reason": "Trẻ đã gọi 111, tổng đài xác nhận đang hỗ trợ"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    with app.state.context.database.session() as session:
        case = session.get(Case, case_id)
        assert case.outcome == "referred_111"
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation.state == "bot"
        note = session.scalar(select(CaseNote).where(CaseNote.case_id == case_id, CaseNote.kind == "close_reason"))
        assert note is not None and "tổng đài" not in note.text_encrypted  # encrypted at rest
        assert app.state.context.crypto.decrypt(note.text_encrypted).startswith("Trẻ đã gọi 111")
        entry = session.scalar(select(AuditLog).where(AuditLog.action == "case.close_unaccepted"))
        assert entry is not None and entry.target == f"case:{case_id}"
        assert entry.details["level"] == "high" and entry.details["reason_note"] == note.id
        assert "Trẻ" not in str(entry.details)  # no text in the audit log
    detail = (await api_client.get(f"/api/v1/cases/{case_id}", headers=supervisor)).json()
    assert [n["kind"] for n in detail["notes"]] == ["close_reason"]


async def test_counselor_closes_after_accepting_and_lower_risk_cases(api_client: httpx.AsyncClient) -> None:
    app = api_client._transport.app  # type: ignore[attr-defined]
    counselor, _ = await _staff(api_client)
    imminent = _disclose(app, "21", "cứu em với", Risk("imminent", "disclose_physical_abuse", []))
    concern = _disclose(app, "22", "bạn trêu em hoài", Risk("concern", "disclose_bullying", []))
    asked = _disclose(app, "23", "cho em nói chuyện với người thật",
                      Risk("none", "request_counselor", [], escalate=True, counselor_requested=True))

    assert (await api_client.post(f"/api/v1/cases/{imminent}/close", headers=counselor,
                                  json={"outcome": "advised"})).status_code == 409
    assert (await api_client.post(f"/api/v1/cases/{imminent}/accept", headers=counselor)).status_code == 200
    # Accepted: the counselor holds it and may close it, but never without an outcome.
    for body in ({}, {"outcome": ""}, {"outcome": "unknown"}):
        missing = await api_client.post(f"/api/v1/cases/{imminent}/close", headers=counselor, json=body)
        assert missing.status_code == 422, body
    assert "kết quả" in str((await api_client.post(f"/api/v1/cases/{imminent}/close", headers=counselor,
                                                   json={})).json()["detail"])
    done = await api_client.post(f"/api/v1/cases/{imminent}/close", headers=counselor, json={"outcome": "advised"})
    assert done.status_code == 200 and done.json()["status"] == "closed"
    # An open concern case and a waiting case that is not high risk: a counselor may close them.
    for case_id in (concern, asked):
        response = await api_client.post(f"/api/v1/cases/{case_id}/close", headers=counselor,
                                         json={"outcome": "advised"})
        assert response.status_code == 200, response.text
    with app.state.context.database.session() as session:
        assert session.scalar(select(AuditLog).where(AuditLog.action == "case.close_unaccepted")) is None
