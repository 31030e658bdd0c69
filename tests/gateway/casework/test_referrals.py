"""Referrals: created from a case, e-mailed through SMTP without any child identifier, followed up
by status, overdue follow-ups alerting the case owner and the supervisors, the printable form."""
from __future__ import annotations

import asyncio
import socket
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from api.auth.models import AuditLog
from api.cases.models import Case, Notification
from api.casework.models import Referral
from api.content.models import DirectoryEntry
from api.messaging.models import Conversation
from tests.gateway.casework.helpers import app_of, disclose
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio
PLATFORM_USER = "777000111"


def _future(days: int = 3) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


async def test_referral_email_carries_no_child_identifier(staff_client: httpx.AsyncClient, staff: dict,
                                                          smtp_server: tuple) -> None:
    mailbox, _ = smtp_server
    app = app_of(staff_client)
    case_id = disclose(app, PLATFORM_USER, "m1", text="bố dượng đánh em chảy máu đầu")
    counselor = staff["counselor"]
    await staff_client.put(f"/api/v1/cases/{case_id}/record", headers=counselor,
                           json={"values": {"province": "Đà Nẵng", "commune": "Phường Tam Kỳ"}})
    response = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=counselor, json={
        "recipient": "commune", "email": "bvte.tamky@example.gov.vn", "reason": "Trẻ bị bạo lực thể chất tại nhà",
        "shared": "Trẻ 11–14 tuổi, Phường Tam Kỳ; cần cán bộ đến thăm nhà", "due_date": _future()})
    assert response.status_code == 201, response.text
    referral = response.json()
    assert referral["id"] and referral["status"] == "sent" and referral["email_status"] == "pending"
    assert referral["recipient_name"] == "Cán bộ bảo vệ trẻ em cấp xã, phường — Phường Tam Kỳ, Đà Nẵng"

    await eventually(lambda: len(mailbox.messages) == 1)
    message = mailbox.messages[0]
    raw = mailbox.raw[0].decode("utf-8", "replace")
    body = message.get_payload(decode=True).decode("utf-8")
    assert message["To"] == "bvte.tamky@example.gov.vn" and message["From"] == "tuvan@example.org.vn"
    assert f"CA-{case_id:06d}" in message["Subject"] and f"CA-{case_id:06d}" in body
    assert "Trẻ bị bạo lực thể chất tại nhà" in body and "cần cán bộ đến thăm nhà" in body
    with app.state.context.database.session() as session:
        case = session.get(Case, case_id)
        conversation = session.get(Conversation, case.conversation_id)
        pseudonym, hmac_part = case.sender_id, case.sender_id.split(":", 1)[1]
        assert conversation.sender_id == pseudonym
    for identifier in (PLATFORM_USER, pseudonym, hmac_part, "telegram", "bố dượng đánh em"):
        assert identifier not in raw and identifier not in body
    await eventually(lambda: _email_status(app, referral["id"]) == "sent")


def _email_status(app, referral_id: int) -> str:  # type: ignore[no-untyped-def]
    with app.state.context.database.session() as session:
        return session.get(Referral, referral_id).email_status


async def test_referral_input_is_checked_and_audited(staff_client: httpx.AsyncClient, staff: dict) -> None:
    app = app_of(staff_client)
    case_id = disclose(app, "778", "m1")
    counselor = staff["counselor"]
    base = {"recipient": "111", "reason": "Cần hỗ trợ khẩn", "shared": "Trẻ đang sợ hãi", "due_date": _future()}
    bad = [{"recipient": "mayor"}, {"recipient": "directory:999999"}, {"recipient": "directory:abc"},
           {"email": "not-an-address"}, {"reason": "   "}, {"shared": ""},
           {"due_date": (date.today() - timedelta(days=2)).isoformat()}, {"due_date": "31/12/2026"}]
    for change in bad:
        response = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=counselor,
                                           json={**base, **change})
        assert response.status_code == 422, (change, response.text)
    with app.state.context.database.session() as session:
        entry = DirectoryEntry(name="Trung tâm Công tác xã hội Đà Nẵng", kind="child_protection_officer",
                               province="Đà Nẵng", phone="0236 3000 000", national=False, place_key="da nang")
        session.add(entry)
        session.commit()
        entry_id = entry.id
    recipients = (await staff_client.get("/api/v1/referral-recipients", headers=counselor)).json()
    assert f"directory:{entry_id}" in [r["value"] for r in recipients]
    made = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=counselor,
                                   json={**base, "recipient": f"directory:{entry_id}"})
    assert made.status_code == 201, made.text
    assert made.json()["recipient"] == f"directory:{entry_id}" and made.json()["email_status"] == "none"
    assert "Trung tâm Công tác xã hội Đà Nẵng" in made.json()["recipient_name"]
    referral_id = made.json()["id"]
    for status_value in ("acknowledged", "in_progress", "done"):
        patched = await staff_client.patch(f"/api/v1/referrals/{referral_id}", headers=counselor,
                                           json={"status": status_value})
        assert patched.status_code == 200 and patched.json()["status"] == status_value
    assert (await staff_client.patch(f"/api/v1/referrals/{referral_id}", headers=counselor,
                                     json={"status": "lost"})).status_code == 422
    assert (await staff_client.patch("/api/v1/referrals/999999", headers=counselor,
                                     json={"status": "done"})).status_code == 404
    listed = (await staff_client.get(f"/api/v1/referrals?case_id={case_id}", headers=counselor)).json()
    assert [r["id"] for r in listed] == [referral_id]
    with app.state.context.database.session() as session:
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.target == f"case:{case_id}")))
        assert actions.count("case.referral.create") == 1 and actions.count("case.referral.update") == 3
        stored = session.get(Referral, referral_id)
        assert "Trẻ đang sợ hãi" not in stored.shared_encrypted  # encrypted at rest

    assert (await staff_client.post(f"/api/v1/cases/{case_id}/accept", headers=counselor)).status_code == 200
    closed = await staff_client.post(f"/api/v1/cases/{case_id}/close", headers=counselor,
                                     json={"outcome": "referred_111"})
    assert closed.status_code == 200, closed.text
    assert (await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=counselor,
                                    json=base)).status_code == 409


async def test_overdue_follow_up_alerts_owner_and_supervisors(staff_client: httpx.AsyncClient, staff: dict,
                                                              fake_telegram) -> None:  # type: ignore[no-untyped-def]
    app = app_of(staff_client)
    context = app.state.context
    case_id = disclose(app, "779", "m1")
    counselor = staff["counselor"]
    assert (await staff_client.post(f"/api/v1/cases/{case_id}/accept", headers=counselor)).status_code == 200
    made = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=counselor, json={
        "recipient": "police", "reason": "Bạo lực gia đình", "shared": "Địa chỉ do trẻ đồng ý chia sẻ",
        "due_date": _future(1)})
    referral_id = made.json()["id"]
    on_time = await staff_client.get("/api/v1/referrals?overdue=true", headers=staff["supervisor"])
    assert on_time.json() == []

    events: list[dict] = []
    subscription = context.case_events.open(frozenset({"supervisor"}))

    async def collect() -> None:
        while True:
            events.append(await subscription.get())

    collector = asyncio.create_task(collect())
    try:
        with context.database.transaction() as session:  # the follow-up date has passed
            session.execute(update(Referral).where(Referral.id == referral_id)
                            .values(due_date=date.today() - timedelta(days=2)))
        context.referral_follow_up.wake()
        await eventually(lambda: any(e.get("type") == "referral_overdue" for e in events))
    finally:
        collector.cancel()
        subscription.close()
    alert = next(e for e in events if e["type"] == "referral_overdue")
    owner_id = (await staff_client.get("/api/v1/auth/me", headers=counselor)).json()["id"]
    assert alert["referral_id"] == referral_id and alert["case_id"] == case_id
    assert alert["owner_user_ids"] == [owner_id]

    def group_alerted() -> bool:
        return any("quá hạn" in str(call.get("text", "")) for call in fake_telegram.sent())

    await eventually(group_alerted)
    overdue = (await staff_client.get("/api/v1/referrals?overdue=true", headers=staff["supervisor"])).json()
    assert [r["id"] for r in overdue] == [referral_id] and overdue[0]["overdue"] is True
    with context.database.session() as session:
        notes = list(session.scalars(select(Notification).where(Notification.kind == "referral_overdue")))
        assert len(notes) == 1 and notes[0].target == "telegram_supervisors"
    # Once only; a later follow-up date re-arms it, and a finished referral is no longer overdue.
    context.referral_follow_up.wake()
    assert await context.referral_follow_up.alert_overdue() == 0
    moved = await staff_client.patch(f"/api/v1/referrals/{referral_id}", headers=counselor,
                                     json={"due_date": _future(5)})
    assert moved.status_code == 200 and moved.json()["overdue"] is False
    await staff_client.patch(f"/api/v1/referrals/{referral_id}", headers=counselor, json={"status": "done"})
    assert (await staff_client.get("/api/v1/referrals?overdue=true", headers=counselor)).json() == []


async def test_printable_form(staff_client: httpx.AsyncClient, staff: dict) -> None:
    app = app_of(staff_client)
    case_id = disclose(app, "780", "m1")
    made = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=staff["counselor"], json={
        "recipient": "health", "reason": "Cần khám <vết thương>", "shared": "Trẻ 6–10 tuổi", "due_date": _future()})
    form = await staff_client.get(f"/api/v1/referrals/{made.json()['id']}/form", headers=staff["counselor"])
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    html = form.text
    assert f"CA-{case_id:06d}" in html and "PHIẾU CHUYỂN TUYẾN" in html and "Cơ sở y tế" in html
    assert "Cần khám &lt;vết thương&gt;" in html and "<vết thương>" not in html
    assert "/console/assets/casework-print.css" in html and "<script" not in html
    assert "script-src" not in form.headers["content-security-policy"]
    with app.state.context.database.session() as session:
        sender = session.get(Case, case_id).sender_id
    assert sender not in html and sender.split(":", 1)[1] not in html
    assert (await staff_client.get(f"/api/v1/referrals/{made.json()['id']}/form")).status_code == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_smtp_server_is_retried_and_the_referral_kept(staff_client: httpx.AsyncClient,
                                                                         staff: dict, smtp_server: tuple) -> None:
    mailbox, _ = smtp_server
    app = app_of(staff_client)
    context = app.state.context
    follow_up = context.referral_follow_up
    working = follow_up.settings
    follow_up.settings = working.model_copy(update={"smtp_port": _closed_port()})
    case_id = disclose(app, "781", "m1")
    made = await staff_client.post(f"/api/v1/cases/{case_id}/referrals", headers=staff["counselor"], json={
        "recipient": "province", "email": "sobvte@example.gov.vn", "reason": "Cần hỗ trợ",
        "shared": "Trẻ 15–17 tuổi", "due_date": _future()})
    assert made.status_code == 201
    referral_id = made.json()["id"]

    def stored() -> Referral:
        with context.database.session() as session:
            return session.get(Referral, referral_id)

    await eventually(lambda: stored().email_attempts >= 1)
    failed_once = stored()
    assert failed_once.email_status == "pending" and failed_once.email_error and mailbox.messages == []
    follow_up.settings = working  # the server is back: the next round sends it
    with context.database.transaction() as session:
        session.execute(update(Referral).where(Referral.id == referral_id).values(email_next_at=None))
    follow_up.wake()
    await eventually(lambda: stored().email_status == "sent")
    assert len(mailbox.messages) == 1 and mailbox.messages[0]["To"] == "sobvte@example.gov.vn"
