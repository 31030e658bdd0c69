"""Outbox lanes: a child's safety reply goes ahead of a running broadcast, ordinary replies next,
broadcast rows last; a conversation's rows keep their order within a lane."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.content.models import BroadcastDelivery
from api.db.gate import WriteGate
from api.db.session import Database
from api.messaging.delivery import DeliveryWorker
from api.messaging.models import Conversation, Lane, OutboundMessage
from api.messaging.outbox import enqueue
from api.messaging.senders import ChannelRegistry, SendResult
from api.security.crypto import Crypto
from api.settings import Settings
from tests.gateway.content.small_domain import content_settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.messaging.support import add_telegram_subscribers
from tests.gateway.staff import staff_token
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
SUBSCRIBERS = 2000
FIRST_SUBSCRIBER = 7_000_000
CHILD = 42_000_001
OTHER_CHILD = 42_000_002
RATE = 5.0  # sends per second: the broadcast alone needs 400 s, and 100 sends leave the replies 20 s


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:  # overrides the shared fixture
    return content_settings(settings, tmp_path).model_copy(update={"delivery_global_rate_per_second": RATE})


def _deliveries(app: FastAPI) -> int:
    with app.state.context.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(BroadcastDelivery)) or 0)


def _send_index(fake_telegram: FakeTelegram, chat: int) -> int:
    """Position of the first message to `chat` among all messages sent."""
    sent = fake_telegram.sent()
    return next(i for i, params in enumerate(sent) if str(params["chat_id"]) == str(chat))


async def test_a_disclosure_during_a_broadcast_is_answered_before_the_remaining_broadcast(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    context = app.state.context
    add_telegram_subscribers(context.database, context.crypto,
                             range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + SUBSCRIBERS))
    headers = staff_token(app, "lan@example.org")
    broadcast = (await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Chiến dịch", "text": "Cơ thể em là của em.", "channels": ["telegram"]})).json()
    assert (await client.post(f"/api/v1/broadcasts/{broadcast['id']}/send", headers=headers)).status_code == 200
    # Everything queued and the broadcast under way: FIFO would put a reply behind ~2,000 rows.
    await eventually(lambda: _deliveries(app) == SUBSCRIBERS, timeout=30, what="the broadcast queued")
    await eventually(lambda: len(fake_telegram.sent()) >= 20, what="the broadcast started")
    before = len(fake_telegram.sent())
    assert (await post_update(client, text_update(CHILD, "cứu em với"))).status_code == 200
    assert (await post_update(client, text_update(OTHER_CHILD, "chào bạn"))).status_code == 200
    reply = await eventually(lambda: fake_telegram.sent(CHILD), what="the safety reply")
    await eventually(lambda: fake_telegram.sent(OTHER_CHILD), what="the ordinary reply")
    assert "111" in reply[0]["text"]
    # Sent while nearly all the broadcast was still waiting: only the rows already claimed or sent
    # during the replies' trip through the pipeline went before them.
    broadcast_before_safety = _send_index(fake_telegram, CHILD) - before
    broadcast_before_reply = _send_index(fake_telegram, OTHER_CHILD) - before - 1
    assert broadcast_before_safety < 100, broadcast_before_safety
    assert broadcast_before_reply < 100, broadcast_before_reply
    assert len(fake_telegram.sent()) < SUBSCRIBERS / 2
    with context.database.session() as session:
        lanes = dict(session.execute(select(Conversation.sender_id, OutboundMessage.lane)
                                     .join(Conversation, Conversation.id == OutboundMessage.conversation_id)
                                     .where(OutboundMessage.source != "broadcast")).all())
    assert lanes[context.crypto.pseudonymous_id("telegram", str(CHILD))] == Lane.SAFETY
    assert lanes[context.crypto.pseudonymous_id("telegram", str(OTHER_CHILD))] == Lane.REPLY
    await client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel", headers=headers)
    await drained(app)


class _Recorder:
    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, platform_user_id: str, payload: dict) -> SendResult:  # type: ignore[type-arg]
        self.sent.append((platform_user_id, payload["text"]))
        return SendResult.sent()


def _queue(database: Database, crypto: Crypto, user: str, texts: list[str], source: str,
           lane: Lane | None = None) -> None:
    with database.transaction() as session:
        sender_id = crypto.pseudonymous_id("telegram", user)
        conversation = session.scalar(select(Conversation).where(Conversation.sender_id == sender_id))
        if conversation is None:
            conversation = Conversation(channel="telegram", sender_id=sender_id,
                                        platform_user_id_encrypted=crypto.encrypt(user))
            session.add(conversation)
            session.flush()
        enqueue(session, conversation, [{"text": t} for t in texts], source, crypto=crypto, lane=lane)


async def test_the_worker_claims_by_lane_then_age_and_keeps_each_conversations_order(
        database: Database, settings: Settings) -> None:
    crypto = Crypto(settings)
    for n in range(6):  # campaign rows first, the oldest in the outbox
        _queue(database, crypto, f"b{n}", [f"campaign {n}"], "broadcast")
    _queue(database, crypto, "a", ["a1", "a2", "a3"], "bot")  # ordinary replies
    _queue(database, crypto, "c", ["c1", "c2"], "bot")
    _queue(database, crypto, "b0", ["safe1", "safe2"], "bot", lane=Lane.SAFETY)  # at risk, behind a campaign row
    _queue(database, crypto, "a", ["counselor"], "counselor")  # counselors: safety lane by default
    registry = ChannelRegistry()
    recorder = _Recorder()
    registry.register(recorder)
    worker = DeliveryWorker(WriteGate(database), registry, crypto, settings)
    first = await worker.claim(3)
    # The heads of the safety lane first (one row per conversation and lane), then replies; the
    # campaign rows, although older, wait.
    assert [(c.lane, c.payload["text"]) for c in first] == [
        (Lane.SAFETY, "safe1"), (Lane.SAFETY, "counselor"), (Lane.REPLY, "a1")]
    await worker._release([c.row_id for c in first])
    await worker.start()
    try:
        await eventually(lambda: len(recorder.sent) == 14, what="every row sent")
    finally:
        await worker.stop()
    texts = {user: [text for u, text in recorder.sent if u == user] for user in ("a", "b0", "c")}
    assert [t for t in texts["a"] if t != "counselor"] == ["a1", "a2", "a3"]
    assert [t for t in texts["b0"] if t.startswith("safe")] == ["safe1", "safe2"]
    assert texts["c"] == ["c1", "c2"]
    assert sorted(text for _, text in recorder.sent) == sorted(
        [f"campaign {n}" for n in range(6)] + ["a1", "a2", "a3", "c1", "c2", "safe1", "safe2", "counselor"])
