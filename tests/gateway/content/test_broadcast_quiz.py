"""Subscription words and quizzes answered before Rasa; broadcasts within each channel's rules."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.content.models import BroadcastDelivery, InboxItem, Subscriber
from api.messaging.models import Conversation
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import callback_update, post_update, text_update
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio


async def _say(client: httpx.AsyncClient, telegram: FakeTelegram, chat: int, text: str, expect: int) -> list[dict]:
    assert (await post_update(client, text_update(chat, text))).status_code == 200
    await eventually(lambda: len(telegram.sent(chat)) >= expect, what=f"reply to {text!r}")
    return telegram.sent(chat)


async def test_opt_in_and_out_are_answered_before_rasa(client: httpx.AsyncClient, app: FastAPI,
                                                       fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    sent = await _say(client, fake_telegram, 501, "Đăng ký", 1)
    assert "đăng ký" in sent[-1]["text"].lower() and "111" in sent[-1]["text"]
    sent = await _say(client, fake_telegram, 501, "dừng", 2)
    assert "dừng" in sent[-1]["text"].lower() and "111" in sent[-1]["text"]
    sent = await _say(client, fake_telegram, 501, "/subscribe", 3)
    assert fake_rasa.texts() == []  # none of these reached Rasa
    # "đúng" (yes) folds like "dừng" without diacritics: it must go to Rasa, not unsubscribe.
    sent = await _say(client, fake_telegram, 501, "đúng", 4)
    assert sent[-1]["text"] == "Mình nghe rồi: đúng"
    with app.state.context.database.session() as session:
        subscriber = session.scalars(select(Subscriber)).one()
        assert subscriber.subscribed and subscriber.channel == "telegram"


async def test_quiz_runs_with_buttons_and_explanations(client: httpx.AsyncClient, app: FastAPI,
                                                       fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    headers = staff_token(app, "lan@example.org")
    quiz = await client.post("/api/v1/quizzes", headers=headers, json={"title": "An toàn cơ thể", "questions": [
        {"text": "Vùng đồ bơi là vùng riêng tư?", "options": ["Đúng", "Sai"], "correct": 0,
         "explanation": "Không ai được chạm vào vùng riêng tư của em."},
        {"text": "Khi bị ai đó làm em sợ, em nên?", "options": ["Giữ bí mật", "Kể với người lớn tin cậy"],
         "correct": 1, "explanation": "Kể ra không phải lỗi của em; em có thể gọi 111."}]})
    assert quiz.status_code == 201
    # Saved anyway, with the style guide's warnings: the quiz calls the child "em", not "bạn".
    warnings = quiz.json()["warnings"]
    assert warnings and all(w.startswith("Câu ") for w in warnings)
    assert any("xưng hô" in w for w in warnings)
    bad = await client.post("/api/v1/quizzes", headers=headers, json={"title": "x", "questions": [
        {"text": "?", "options": ["a", "b"], "correct": 5, "explanation": "e"}]})
    assert bad.status_code == 422 and "đáp án đúng" in bad.json()["detail"]

    sent = await _say(client, fake_telegram, 502, "đố vui", 2)
    question = sent[-1]
    assert question["text"].startswith("❓ Câu 1/2")
    payloads = [row[0]["callback_data"] for row in question["reply_markup"]["inline_keyboard"]]
    assert len(payloads) == 2
    # The child taps the first button (correct).
    assert (await post_update(client, callback_update(502, payloads[0]))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(502)) >= 4, what="explanation and next question")
    sent = fake_telegram.sent(502)
    assert sent[2]["text"].startswith("✅ Đúng rồi!") and "vùng riêng tư" in sent[2]["text"]
    assert sent[3]["text"].startswith("❓ Câu 2/2")
    # Mid-quiz, anything that is not an answer goes to Rasa as usual (a child may say something
    # important; once a counselor is involved the quiz no longer intercepts anything).
    await _say(client, fake_telegram, 502, "hôm nay em buồn", 5)
    assert "hôm nay em buồn" in fake_rasa.texts()
    # Answer by number (as Zalo users do): wrong answer gets the right one and the explanation.
    sent = await _say(client, fake_telegram, 502, "1", 7)
    assert "Chưa đúng" in sent[-2]["text"] and "Kể với người lớn tin cậy" in sent[-2]["text"]
    assert "1/2" in sent[-1]["text"] and "111" in sent[-1]["text"]
    assert "1" not in fake_rasa.texts()


async def test_low_confidence_messages_reach_the_inbox_encrypted(client: httpx.AsyncClient, app: FastAPI,
                                                                 fake_telegram: FakeTelegram,
                                                                 fake_rasa: FakeRasa) -> None:
    # The fake Rasa's risk payload has no confidence: "norisk" makes the gateway parse (confidence 0.9).
    await _say(client, fake_telegram, 503, "xin chào", 1)
    with app.state.context.database.session() as session:
        assert session.scalars(select(InboxItem)).all() == []
    from api.content import inbox
    from api.messaging.risk import Risk

    with app.state.context.database.transaction() as session:
        conversation = session.scalars(select(Conversation)).one()
        from api.messaging.models import InboundMessage

        inbound = session.scalars(select(InboundMessage)).one()
        inbox.record(session, conversation, inbound, Risk(level="none", intent="nlu_fallback", fallback=True))
        inbox.record(session, conversation, inbound, Risk(level="none", intent="greet", confidence=0.42))
        inbox.record(session, conversation, inbound, Risk(level="none", intent="greet", confidence=0.8))
    headers = staff_token(app, "lan@example.org")
    items = (await client.get("/api/v1/inbox", headers=headers)).json()
    assert [i["text"] for i in items] == ["xin chào", "xin chào"]
    assert {i["risk_level"] for i in items} == {"none"}
    assert all("sender" not in key for i in items for key in i)
    with app.state.context.database.session() as session:
        assert all("xin chào" not in item.text_encrypted for item in session.scalars(select(InboxItem)))

    first, second = items[0]["id"], items[1]["id"]
    unknown = await client.post(f"/api/v1/inbox/{first}/review", headers=headers,
                                json={"action": "assign", "topic": "not_a_topic"})
    assert unknown.status_code == 422
    assert (await client.post(f"/api/v1/inbox/{first}/review", headers=headers,
                              json={"action": "assign", "topic": "greet"})).status_code == 200
    assert (await client.post(f"/api/v1/inbox/{second}/review", headers=headers,
                              json={"action": "propose", "topic": "faq_chao_hoi",
                                    "answer": "Chào em! Gọi 111 khi cần."})).status_code == 200
    diff = (await client.get("/api/v1/inbox/export", headers=headers)).json()
    assert diff["examples"] == 2
    assert "+- intent: greet" in diff["diff"] and "+    - xin chào" in diff["diff"]
    assert "+# new topic faq_chao_hoi: Chào em! Gọi 111 khi cần." in diff["diff"]
    written = (await client.post("/api/v1/inbox/export", headers=headers)).json()
    nlu_dir = app.state.context.settings.inbox_export_dir
    from pathlib import Path

    import yaml

    data = yaml.safe_load((Path(nlu_dir) / written["path"]).read_text(encoding="utf-8"))
    assert {b["intent"] for b in data["nlu"]} == {"greet", "faq_chao_hoi"}
    assert (await client.post("/api/v1/inbox/export", headers=headers)).status_code == 409


async def test_broadcast_respects_opt_out_zalo_window_and_rate_limits(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    chats = [601, 602, 603, 604]
    for chat in chats:
        await _say(client, fake_telegram, chat, "đăng ký", 1)
    await _say(client, fake_telegram, 604, "huỷ đăng ký", 2)
    with app.state.context.database.transaction() as session:
        # A Zalo subscriber whose last message is older than the 7-day reply window is skipped.
        zalo = Conversation(channel="zalo", sender_id="zalo:" + "a" * 32, platform_user_id_encrypted="x",
                            last_user_message_at=datetime.now(UTC) - timedelta(days=8))
        session.add(zalo)
        session.flush()
        session.add(Subscriber(conversation_id=zalo.id, channel="zalo", subscribed=True))
    headers = staff_token(app, "lan@example.org")
    created = await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Tháng hành động", "text": "Nhớ nhé: cơ thể em là của em. Cần giúp, gọi 111.",
        "channels": ["telegram", "zalo"]})
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert any("xưng hô “em”" in w for w in created.json()["warnings"])
    broadcast_id = created.json()["id"]
    started = time.monotonic()
    sent = await client.post(f"/api/v1/broadcasts/{broadcast_id}/send", headers=headers)
    assert sent.status_code == 200
    await eventually(lambda: all(len(fake_telegram.sent(c)) == 2 for c in chats[:3]), what="broadcast")
    assert len(fake_telegram.sent(604)) == 2  # opted out: only its own two confirmations
    for chat in chats[:3]:
        assert fake_telegram.sent(chat)[-1]["text"].startswith("Nhớ nhé")
    # A row is marked sent once the platform has accepted it, so the last one may still be recording.
    async def progress_when_all_sent() -> dict | None:
        progress = (await client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=headers)).json()["progress"]
        return progress if progress.get("sent") == 3 else None

    progress = await eventually(progress_when_all_sent, what="three deliveries recorded as sent")
    assert progress["sent"] == 3 and progress["skipped"] == 1 and progress["total"] == 4
    assert progress["skipped_by_reason"] == {"outside_zalo_window": 1}
    # Sending again is refused; each conversation gets it once.
    assert (await client.post(f"/api/v1/broadcasts/{broadcast_id}/send", headers=headers)).status_code == 409
    with app.state.context.database.session() as session:
        assert len(session.scalars(select(BroadcastDelivery)).all()) == 4
    # The delivery worker's global rate limit spaces the sends (settings: 1000/s in tests; the
    # Telegram limit of 30/s comes from the same worker): all went through the outbox rows.
    times = sorted(c.at for c in fake_telegram.calls if c.method == "sendMessage" and c.at >= started)
    assert len(times) == 3


async def test_scheduled_broadcast_can_be_cancelled_or_goes_out(client: httpx.AsyncClient, app: FastAPI,
                                                                fake_telegram: FakeTelegram) -> None:
    await _say(client, fake_telegram, 701, "đăng ký", 1)
    headers = staff_token(app, "lan@example.org")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cancelled = (await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Hẹn giờ", "text": "Tin hẹn giờ", "channels": ["telegram"], "scheduled_at": later})).json()
    assert cancelled["status"] == "scheduled" and cancelled["warnings"] == []
    assert (await client.post(f"/api/v1/broadcasts/{cancelled['id']}/cancel", headers=headers)).json()[
        "status"] == "cancelled"
    soon = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    due = (await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Sắp gửi", "text": "Tin sắp gửi", "channels": ["telegram"], "scheduled_at": soon})).json()
    await eventually(lambda: len(fake_telegram.sent(701)) == 2, what="scheduled broadcast")
    assert fake_telegram.sent(701)[-1]["text"] == "Tin sắp gửi"

    async def due_is_done() -> bool:  # the status follows the last delivery's send
        return bool((await client.get(f"/api/v1/broadcasts/{due['id']}", headers=headers)).json()["status"] == "done")

    await eventually(due_is_done, what="the scheduled broadcast marked done")
    naive = await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "x", "text": "y", "channels": ["telegram"], "scheduled_at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422
