"""Erasure and access end to end through the fake Telegram server: the consent record when the
welcome is shown, the export with the decrypted history, "xoá dữ liệu của em" → confirm → nothing
left (Rasa's tracker included); an open case sends the request to a supervisor instead (chat and
API: 409), who decides. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cases.models import Case
from api.privacy.texts import (
    ERASE_APPROVED,
    ERASE_ASK,
    ERASE_CANCELLED,
    ERASE_DECLINED,
    ERASE_DONE,
    ERASE_SUPERVISOR,
)
from api.security.crypto import Crypto
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import callback_update, post_update, text_update
from tests.gateway.privacy.conftest import RasaEvents
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio


def _texts(fake_telegram: FakeTelegram, chat: int) -> list[str]:
    return [message["text"] for message in fake_telegram.sent(chat)]


async def _say(http: httpx.AsyncClient, fake_telegram: FakeTelegram, chat: int, text: str | dict[str, Any],
               expect: str | None = None) -> str:
    """Send a message (or a button tap) and wait for the next answer; returns its text."""
    count = len(_texts(fake_telegram, chat))
    update = text_update(chat, text) if isinstance(text, str) else text
    assert (await post_update(http, update)).status_code == 200
    answers = await eventually(lambda: _texts(fake_telegram, chat)[count:], what=f"the answer to {text!r}")
    if expect is not None:
        await eventually(lambda: expect in _texts(fake_telegram, chat)[count:], what=f"{expect[:30]!r}")
        return expect
    return str(answers[0])


async def _export(http: httpx.AsyncClient, admin: dict[str, str], chat: int) -> dict[str, Any]:
    response = await http.post("/api/v1/privacy/export", headers=admin,
                               json={"channel": "telegram", "user_id": str(chat)})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sender(client_app_crypto: Crypto, chat: int) -> str:
    return client_app_crypto.pseudonymous_id("telegram", str(chat))


async def test_child_erases_their_data_from_the_chat(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                                     fake_rasa: FakeRasa, rasa_events: RasaEvents,
                                                     app: Any) -> None:
    chat = 7770001
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    sender = _sender(app.state.context.crypto, chat)

    # The welcome (the privacy notice) is shown: the consent record says when, per purpose.
    await _say(client, fake_telegram, chat, "/start")
    consents = (await client.post("/api/v1/privacy/consents", headers=admin,
                                  json={"channel": "telegram", "user_id": str(chat)})).json()
    assert consents["found"]
    bases = {item["purpose"]: item["legal_basis"] for item in consents["consents"]}
    assert bases == {"answering_questions": "consent_by_use", "child_protection": "vital_interest_legal_duty",
                     "broadcasts": "opt_in_consent"}
    assert all(item["notice_shown_at"] for item in consents["consents"])
    assert not any(item["granted_at"] for item in consents["consents"])  # no broadcast opt-in yet

    await _say(client, fake_telegram, chat, "em muốn hỏi về an toàn trên mạng")
    rasa_events.add(sender, 4)  # what Rasa's tracker store holds for this conversation

    exported = await _export(client, admin, chat)
    texts = [message["text"] for message in exported["messages"]]
    assert "em muốn hỏi về an toàn trên mạng" in texts  # decrypted
    assert "Mình nghe rồi: em muốn hỏi về an toàn trên mạng" in texts

    # Asked, then declined with "Không": nothing goes.
    assert await _say(client, fake_telegram, chat, "xoa du lieu") == ERASE_ASK.default
    buttons = str(fake_telegram.sent(chat)[-1].get("reply_markup"))
    assert "/erase_confirm" in buttons and "/erase_cancel" in buttons
    assert await _say(client, fake_telegram, chat, "Không") == ERASE_CANCELLED.default
    assert len((await _export(client, admin, chat))["messages"]) >= 4

    # Asked again, with diacritics, and confirmed with "đồng ý".
    assert await _say(client, fake_telegram, chat, "Xóa hết tin nhắn của mình!") == ERASE_ASK.default
    assert await _say(client, fake_telegram, chat, "đồng ý") == ERASE_DONE.default
    await eventually(lambda: rasa_events.count(sender) == 0, what="the tracker erased")

    async def nothing_left() -> bool:
        after = await _export(client, admin, chat)
        return after["found"] is False and after["messages"] == []

    await eventually(nothing_left, what="the conversation erased")
    assert not any(text in fake_rasa.texts() for text in ("xoa du lieu", "Xóa hết tin nhắn của mình!", "đồng ý"))
    with app.state.context.database.session() as session:
        actions = [entry.action for entry in session.scalars(select(AuditLog).where(
            AuditLog.action.like("privacy.%")).order_by(AuditLog.id))]
        details = [entry.details for entry in session.scalars(select(AuditLog).where(
            AuditLog.action == "privacy.erased"))]
    assert actions.count("privacy.erased") == 1 and "privacy.erasure_started" in actions
    assert details[0]["counts"]["inbound_messages"] >= 4 and details[0]["counts"]["rasa_tracker"] == 4
    assert str(chat) not in str(details) and sender not in str(details)

    # The child may come back: a new conversation starts from nothing.
    await _say(client, fake_telegram, chat, "chào")
    assert [m["text"] for m in (await _export(client, admin, chat))["messages"]] == ["chào", "Mình nghe rồi: chào"]


async def test_the_button_confirms_too(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                       app: Any) -> None:
    chat = 7770002
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    await _say(client, fake_telegram, chat, "chào bạn")
    assert await _say(client, fake_telegram, chat, "/delete") == ERASE_ASK.default
    assert await _say(client, fake_telegram, chat, callback_update(chat, "/erase_confirm")) == ERASE_DONE.default

    async def gone() -> bool:
        return (await _export(client, admin, chat))["found"] is False

    await eventually(gone, what="the conversation erased")


async def test_an_open_case_goes_to_a_supervisor(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                                 app: Any) -> None:
    chat, other = 7770003, 7770004
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    supervisor = await create_staff(client, admin, "giamsat@example.vn", role="supervisor")
    counselor = await create_staff(client, admin, "tuvan@example.vn", role="counselor")

    await _say(client, fake_telegram, chat, "cứu em với, bố em đang đánh em")
    await eventually(lambda: any("111" in text for text in _texts(fake_telegram, chat)), what="the safe reply")
    await _say(client, fake_telegram, chat, "xoá dữ liệu của em", expect=ERASE_SUPERVISOR.default)
    exported = await _export(client, admin, chat)
    assert exported["found"] and exported["cases"] and exported["cases"][0]["messages"]

    # The admin's erasure is refused too, and recorded (once: the chat's request is the same one).
    refused = await client.post("/api/v1/privacy/erase", headers=admin,
                                json={"channel": "telegram", "user_id": str(chat), "reason": "phụ huynh yêu cầu"})
    assert refused.status_code == 409 and "giám sát" in refused.json()["detail"]
    assert (await client.get("/api/v1/privacy/requests", headers=counselor)).status_code == 403
    waiting = (await client.get("/api/v1/privacy/requests", headers=supervisor)).json()
    assert [(item["via"], item["status"]) for item in waiting] == [("chat", "supervisor")]

    # Declined with a reason: recorded, the child told honestly, the data kept.
    bad = await client.post(f"/api/v1/privacy/requests/{waiting[0]['id']}/decision", headers=supervisor,
                            json={"approve": False, "reason": "  "})
    assert bad.status_code == 422
    declined = await client.post(f"/api/v1/privacy/requests/{waiting[0]['id']}/decision", headers=supervisor,
                                 json={"approve": False, "reason": "ca đang được xử lý"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["decision_reason"] == "ca đang được xử lý"
    await eventually(lambda: ERASE_DECLINED.default in _texts(fake_telegram, chat), what="the child told")
    assert (await _export(client, admin, chat))["found"]

    # Another child's open case, erased by an admin's request a supervisor approves.
    await _say(client, fake_telegram, other, "cứu em với")
    refused = await client.post("/api/v1/privacy/erase", headers=admin,
                                json={"channel": "telegram", "user_id": str(other), "reason": "mẹ em yêu cầu"})
    assert refused.status_code == 409
    request = next(item for item in (await client.get("/api/v1/privacy/requests", headers=supervisor)).json()
                   if item["via"] == "api")
    assert request["reason"] == "mẹ em yêu cầu"
    approved = await client.post(f"/api/v1/privacy/requests/{request['id']}/decision", headers=supervisor,
                                 json={"approve": True, "reason": "đã chuyển hồ sơ cho 111"})
    assert approved.status_code == 200
    assert ERASE_APPROVED.default not in _texts(fake_telegram, other)  # the request did not come from the chat

    async def gone() -> bool:
        return (await _export(client, admin, other))["found"] is False

    await eventually(gone, what="the approved erasure")
    with app.state.context.database.session() as session:
        cases = list(session.scalars(select(Case).where(Case.sender_id == "telegram:erased")))
    assert len(cases) == 1 and cases[0].status == "closed"  # kept as a statistic only
    done = (await client.get("/api/v1/privacy/requests?status=done", headers=supervisor)).json()
    assert done[0]["id"] == request["id"] and done[0]["decided_by"] is not None


async def test_admin_erase_and_legal_hold(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                          rasa_events: RasaEvents, app: Any) -> None:
    chat, held_chat = 7770005, 7770006
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    supervisor = await create_staff(client, admin, "giamsat2@example.vn", role="supervisor")
    counselor = await create_staff(client, admin, "tuvan2@example.vn", role="counselor")
    await _say(client, fake_telegram, chat, "chào bạn")
    rasa_events.add(_sender(app.state.context.crypto, chat), 2)

    assert (await client.post("/api/v1/privacy/erase", headers=counselor, json={
        "channel": "telegram", "user_id": str(chat), "reason": "x"})).status_code == 403
    assert (await client.post("/api/v1/privacy/erase", headers=admin, json={
        "channel": "viber", "user_id": str(chat), "reason": "x"})).status_code == 422
    erased = await client.post("/api/v1/privacy/erase", headers=admin, json={
        "channel": "telegram", "user_id": str(chat), "reason": "phụ huynh yêu cầu qua điện thoại"})
    assert erased.status_code == 200, erased.text
    counts = erased.json()["erased"]
    assert counts["conversations"] == 1 and counts["inbound_messages"] == 1 and counts["rasa_tracker"] == 2
    assert (await _export(client, admin, chat))["messages"] == []

    # A held case: the hold is supervisor-only and audited; the erasure is refused while it lasts.
    await _say(client, fake_telegram, held_chat, "cứu em với")
    with app.state.context.database.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.sender_id == _sender(app.state.context.crypto, held_chat)))
    assert (await client.put(f"/api/v1/privacy/holds/{case_id}", headers=counselor,
                             json={"reason": "công an"})).status_code == 403
    held = await client.put(f"/api/v1/privacy/holds/{case_id}", headers=supervisor,
                            json={"reason": "công an yêu cầu giữ hồ sơ"})
    assert held.status_code == 200 and held.json()["held"]
    assert (await client.put("/api/v1/privacy/holds/99999", headers=supervisor,
                             json={"reason": "x"})).status_code == 404
    assert [hold["case_id"] for hold in (await client.get("/api/v1/privacy/holds", headers=supervisor)).json()] == [
        case_id]
    refused = await client.post("/api/v1/privacy/erase", headers=admin, json={
        "channel": "telegram", "user_id": str(held_chat), "reason": "x"})
    assert refused.status_code == 409
    released = await client.post(f"/api/v1/privacy/holds/{case_id}/release", headers=supervisor,
                                 json={"reason": "đã xong"})
    assert released.status_code == 200
    with app.state.context.database.session() as session:
        holds = [entry.details["held"] for entry in session.scalars(
            select(AuditLog).where(AuditLog.action == "privacy.legal_hold").order_by(AuditLog.id))]
    assert holds == [True, False]
