"""Fast recovery: the claims of a gateway process that stopped beating (killed, frozen) go back to
pending within seconds, not after the 120 s lease, and are done once, each conversation in order."""
from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.session import Database
from api.main import create_app
from api.messaging.inbound import accept_inbound, get_or_create_conversation
from api.messaging.models import Conversation, GatewayInstance, InboundMessage, OutboundMessage
from api.messaging.outbox import enqueue
from api.security.crypto import Crypto
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.waiting import drained, eventually, eventually_blocking

pytestmark = pytest.mark.asyncio
DEAD = "00000000-dead-4000-8000-000000000000"
ALIVE = "00000000-a11e-4000-8000-000000000000"
CHAT, OTHER_CHAT, ALIVE_CHAT = 910001, 910002, 910003


@pytest.fixture
def settings(settings: Settings) -> Settings:  # overrides the shared fixture
    return settings.model_copy(update={"worker_lease_seconds": 120.0, "instance_heartbeat_seconds": 0.2,
                                       "instance_dead_after_seconds": 1.0})


def _conversation(session: Session, crypto: Crypto, chat: int) -> Conversation:
    return get_or_create_conversation(session, channel="telegram", platform_user_id=str(chat), crypto=crypto)


def _claim(row: InboundMessage | OutboundMessage, status: str, instance: str) -> None:
    row.status, row.claimed_by, row.attempts = status, instance, 1
    row.lease_expires_at = utcnow() + timedelta(seconds=120)  # good for two more minutes


def _leave_claims_of_a_killed_process(database: Database, crypto: Crypto) -> int:
    """The state `kill -9` leaves: an instance whose heartbeat stopped, a user message in processing
    and an outbox row in sending under its name; and a live instance (another process, beating)
    with a send of its own in flight. Returns the live process's row id."""
    now = utcnow()
    with database.transaction() as session:
        session.add(GatewayInstance(id=DEAD, hostname="gw-1", pid=101, started_at=now - timedelta(minutes=5),
                                    heartbeat_at=now - timedelta(seconds=3)))
        session.add(GatewayInstance(id=ALIVE, hostname="gw-2", pid=102, started_at=now,
                                    heartbeat_at=now + timedelta(hours=1)))
        inbound = [accept_inbound(session, channel="telegram", platform_user_id=str(chat), kind="text",
                                  platform_message_key=f"{chat}:{text}", text=text, crypto=crypto)
                   for chat, text in ((CHAT, "một"), (CHAT, "hai"), (OTHER_CHAT, "ba"))]
        assert inbound[0] is not None
        _claim(inbound[0], "processing", DEAD)
        rows = enqueue(session, _conversation(session, crypto, OTHER_CHAT),
                       [{"text": "gửi dở 1"}, {"text": "gửi dở 2"}], "counselor", crypto=crypto)
        _claim(rows[0], "sending", DEAD)
        (held,) = enqueue(session, _conversation(session, crypto, ALIVE_CHAT),
                          [{"text": "đang gửi ở máy khác"}], "counselor", crypto=crypto)
        _claim(held, "sending", ALIVE)
        session.flush()
        return held.id


def _texts(fake_telegram: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


async def test_the_claims_of_a_killed_process_are_taken_back_in_seconds_and_done_once(
        settings: Settings, app: FastAPI, fake_rasa: FakeRasa, fake_telegram: FakeTelegram) -> None:
    database = Database(settings.database_url)
    held_id = _leave_claims_of_a_killed_process(database, app.state.context.crypto)
    database.dispose()
    started = time.monotonic()
    async with app.router.lifespan_context(app):
        await eventually(lambda: _texts(fake_telegram, CHAT) == ["Mình nghe rồi: một", "Mình nghe rồi: hai"],
                         what="the killed process's message answered, then the next")
        await eventually(lambda: len(_texts(fake_telegram, OTHER_CHAT)) == 3, what="the sends")
        assert time.monotonic() - started < 60  # the heartbeat check, far inside the 120 s lease
        # The half-sent counselor messages in order and once each, and the bot's answer once. Order
        # is kept within a lane; the counselor's (safety) and the bot's (reply) lanes go side by side.
        sent = _texts(fake_telegram, OTHER_CHAT)
        assert [text for text in sent if text.startswith("gửi dở")] == ["gửi dở 1", "gửi dở 2"]
        assert sent.count("Mình nghe rồi: ba") == 1
        assert fake_rasa.texts().count("một") == 1
        context = app.state.context
        with context.database.session() as session:
            instances = set(session.scalars(select(GatewayInstance.id)))
            held = session.get(OutboundMessage, held_id)
        assert instances == {ALIVE, context.instance.id}
        assert held is not None and held.status == "sending"  # a live process's claim is left alone
        assert _texts(fake_telegram, ALIVE_CHAT) == []
        with context.database.transaction() as session:  # the other process finishes its send
            session.execute(update(OutboundMessage).where(OutboundMessage.id == held_id)
                            .values(status="sent", claimed_by=None))
        await drained(app)
    assert len(_texts(fake_telegram, CHAT)) == 2 and len(_texts(fake_telegram, OTHER_CHAT)) == 3


async def test_a_process_that_stops_beating_loses_its_claim_and_its_late_answer_is_dropped(
        settings: Settings, fake_rasa: FakeRasa, fake_telegram: FakeTelegram) -> None:
    first, second = create_app(settings), create_app(settings)
    async with first.router.lifespan_context(first):
        await first.state.context.instance.stop_heartbeat()  # frozen host: no more heartbeats
        # ...and no sends: otherwise its delivery worker may claim the second process's reply and,
        # judged dead, have it taken back and sent twice (for sends a duplicate beats a loss).
        await first.state.context.delivery_worker.stop()
        fake_rasa.delay_seconds = 2.0  # Rasa holds the first process's turn meanwhile
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://gw.test") as http:
            assert (await post_update(http, text_update(CHAT, "chậm"))).status_code == 200
        await eventually(lambda: fake_rasa.in_flight == 1, what="the first process waiting for Rasa")
        async with second.router.lifespan_context(second):
            await eventually(lambda: len(fake_rasa.texts()) == 2,
                             what="the second process taking the message back")
            await eventually(lambda: _texts(fake_telegram, CHAT), what="the answer")
            await drained(second)
            assert _texts(fake_telegram, CHAT) == ["Mình nghe rồi: chậm"]  # once: the late answer is dropped


async def test_a_process_judged_dead_claims_nothing_until_its_heartbeat_registers_it_again(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    context = app.state.context
    await context.instance.stop_heartbeat()  # a stalled process: no heartbeat...
    with context.database.transaction() as session:  # ...that another process judged dead
        session.execute(delete(GatewayInstance).where(GatewayInstance.id == context.instance.id))
    assert (await post_update(client, text_update(CHAT, "một"))).status_code == 200
    assert await context.inbound_worker.claim(5) == []  # stored, but not claimed by a dead process
    await context.instance.beat()  # the heartbeat comes back and registers the process again
    await eventually(lambda: _texts(fake_telegram, CHAT) == ["Mình nghe rồi: một"], what="the answer")


async def test_a_busy_event_loop_still_beats(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A loop held for longer than the dead limit (a burst on a starved machine) is not a dead process."""
    context = app.state.context

    def heartbeat_at() -> object:
        with context.database.session() as session:
            return session.scalar(select(GatewayInstance.heartbeat_at)
                                  .where(GatewayInstance.id == context.instance.id))

    before = heartbeat_at()
    # Waiting without awaiting holds the event loop itself: only a heartbeat off the loop can come.
    eventually_blocking(lambda: heartbeat_at() != before, what="a heartbeat while the loop is held")
