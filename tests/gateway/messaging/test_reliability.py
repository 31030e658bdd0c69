"""The message path under stress: order, Rasa outages, channel errors, restarts, counselor hold."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.db.after_commit import call_after_commit
from api.main import create_app
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.messaging.pipeline import ConversationHooks
from api.messaging.risk import Risk
from api.messaging.texts import SERVICE_UNAVAILABLE
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHAT = 555000111


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test") as http:
            yield http


def _texts(fake_telegram: FakeTelegram, chat: int = CHAT) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


def _outbox(app: FastAPI) -> list[OutboundMessage]:
    with app.state.context.database.session() as session:
        return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


async def test_burst_from_one_user_keeps_order(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    fake_rasa.delay_seconds = 0.01
    words = [f"tin {i}" for i in range(12)]
    responses = await asyncio.gather(*(post_update(client, text_update(CHAT, w)) for w in words))
    assert all(r.status_code == 200 for r in responses)
    await eventually(lambda: len(_texts(fake_telegram)) == len(words), what="all replies")
    assert fake_rasa.texts() == words
    assert _texts(fake_telegram) == [f"Mình nghe rồi: {w}" for w in words]


async def test_many_users_are_served_concurrently_each_in_order(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    fake_rasa.delay_seconds = 0.2
    users = [CHAT + i for i in range(6)]
    for round_ in range(3):
        await asyncio.gather(*(post_update(client, text_update(u, f"u{u} m{round_}")) for u in users))
    await eventually(lambda: len(fake_telegram.sent()) == 18, what="all replies")
    assert fake_rasa.max_in_flight >= 3  # conversations are handled side by side, not one at a time
    for u in users:
        assert _texts(fake_telegram, u) == [f"Mình nghe rồi: u{u} m{r}" for r in range(3)]


async def test_rasa_down_sends_one_fallback_then_processes_when_back(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    fake_rasa.down = True
    await post_update(client, text_update(CHAT, "em cần nói chuyện"))
    await post_update(client, text_update(CHAT, "bạn ơi"))
    await eventually(lambda: len(_texts(fake_telegram)) == 1, what="fallback")
    assert _texts(fake_telegram) == [SERVICE_UNAVAILABLE.default] and "111" in SERVICE_UNAVAILABLE.default
    refused = fake_rasa.refused
    await eventually(lambda: fake_rasa.refused >= refused + 3, what="several retries while Rasa is still down")
    assert _texts(fake_telegram) == [SERVICE_UNAVAILABLE.default]
    fake_rasa.down = False
    await eventually(lambda: len(_texts(fake_telegram)) == 3, what="replies after Rasa is back")
    assert _texts(fake_telegram)[1:] == ["Mình nghe rồi: em cần nói chuyện", "Mình nghe rồi: bạn ơi"]


async def test_telegram_429_and_5xx_are_retried_and_sent_once(
    client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(429, times=1, retry_after=1)
    fake_telegram.fail_next(500, times=1)
    fake_telegram.fail_next(502, times=1)
    await post_update(client, text_update(CHAT, "chào"))
    await eventually(lambda: len(_texts(fake_telegram)) == 1, what="delivery after retries")
    attempts = fake_telegram.calls_of("sendMessage")
    assert [c.status for c in attempts] == [429, 500, 502, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # retry_after honoured
    await drained(app)
    assert len(fake_telegram.calls_of("sendMessage")) == 4
    row = _outbox(app)[0]
    assert (row.status, row.attempts) == ("sent", 4)


async def test_permanent_error_is_recorded_and_not_retried(
    client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.block_chat(str(CHAT))
    await post_update(client, text_update(CHAT, "chào"))
    await eventually(lambda: any(r.status == "failed" for r in _outbox(app)), what="failed row")
    await drained(app)
    assert len(fake_telegram.calls_of("sendMessage")) == 1
    row = _outbox(app)[0]
    assert row.attempts == 1 and "Forbidden" in (row.last_error or "")


async def test_transient_errors_stop_after_max_attempts(
    client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    fake_telegram.fail_next(500, times=50)
    await post_update(client, text_update(CHAT, "chào"))
    await eventually(lambda: any(r.status == "failed" for r in _outbox(app)), what="give up")
    await drained(app)
    assert len(fake_telegram.calls_of("sendMessage")) == settings.outbox_max_attempts


async def test_restart_with_pending_work_loses_nothing_and_sends_nothing_twice(
    settings: Settings, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    # First process: Rasa is down and Telegram fails, so inbound and outbound work is left pending;
    # one message is in flight (slow Rasa) when the process stops. Telegram's failures must not use up
    # the reply's attempts before then, however long that takes.
    settings = settings.model_copy(update={"outbox_max_attempts": 1000})
    first = create_app(settings)
    async with running(first) as http:
        fake_rasa.down = True
        fake_telegram.fail_next(500, times=1000)
        for word in ("một", "hai", "ba"):
            assert (await post_update(http, text_update(CHAT, word))).status_code == 200
        await eventually(lambda: any(r.status in ("pending", "sending") for r in _outbox(first)), what="fallback")
        fake_rasa.down = False
        fake_rasa.delay_seconds = 0.3
        await post_update(http, text_update(CHAT + 1, "bốn"))
        await eventually(lambda: fake_rasa.in_flight >= 1, what="a message in flight at Rasa")
    # Second process on the same database, everything healthy again.
    fake_telegram.reset()
    fake_rasa.delay_seconds = 0.0
    second = create_app(settings)
    async with running(second):
        await eventually(lambda: len(_texts(fake_telegram)) == 4 and len(_texts(fake_telegram, CHAT + 1)) == 1,
                         what="everything delivered after restart")
        await drained(second)
        # Once each; the replies in order (the fallback goes in the safety lane, beside them).
        sent = _texts(fake_telegram)
        assert sent.count(SERVICE_UNAVAILABLE.default) == 1
        assert [text for text in sent if text != SERVICE_UNAVAILABLE.default] == [
            "Mình nghe rồi: một", "Mình nghe rồi: hai", "Mình nghe rồi: ba"]
        assert _texts(fake_telegram, CHAT + 1) == ["Mình nghe rồi: bốn"]
        assert fake_rasa.texts().count("bốn") == 1
        with second.state.context.database.session() as session:
            statuses = set(session.scalars(select(InboundMessage.status)))
        assert statuses == {"done"}
        assert {r.status for r in _outbox(second)} == {"sent"}


async def test_stop_releases_a_message_still_in_flight_after_the_grace_period(
    settings: Settings, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    # Rasa answers after the shutdown grace period: the message's task is cancelled at stop, and its
    # row must go back to pending then, not wait for its lease (30 s here) before a restart takes it.
    quick_stop = settings.model_copy(update={"shutdown_grace_seconds": 0.2})
    first = create_app(quick_stop)
    fake_rasa.delay_seconds = 3.0
    async with running(first) as http:
        await post_update(http, text_update(CHAT, "chậm"))
        await eventually(lambda: _inbound_statuses(first) == ["processing"], what="in flight")
    assert _inbound_statuses(first) == ["pending"]
    fake_rasa.delay_seconds = 0.0
    second = create_app(quick_stop)
    async with running(second):
        await eventually(lambda: _texts(fake_telegram) == ["Mình nghe rồi: chậm"],
                         what="answered right after the restart")


def _inbound_statuses(app: FastAPI) -> list[str]:
    with app.state.context.database.session() as session:
        return list(session.scalars(select(InboundMessage.status).order_by(InboundMessage.id)))


class AfterCommitHooks(ConversationHooks):
    """Queues an after-commit callback for each message, then fails when told to."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.called: list[int] = []

    async def after_user_message(self, session, conversation, inbound, risk) -> None:  # type: ignore[no-untyped-def]
        inbound_id = inbound.id
        call_after_commit(session, lambda: self.called.append(inbound_id))
        if self.fail:
            raise RuntimeError("a bug in a hook")


async def test_a_failing_hook_takes_back_what_it_queued_and_the_turn_still_completes(
    app: FastAPI, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    failing, working = AfterCommitHooks(fail=True), AfterCommitHooks(fail=False)
    app.state.context.pipeline_hooks.register(failing)
    app.state.context.pipeline_hooks.register(working)
    async with running(app) as http:
        await post_update(http, text_update(CHAT, "chào"))
        await eventually(lambda: _texts(fake_telegram) == ["Mình nghe rồi: chào"], what="the reply")
        await eventually(lambda: _inbound_statuses(app) == ["done"], what="the turn stored")
    assert failing.called == []
    assert len(working.called) == 1


class RecordingHooks(ConversationHooks):
    def __init__(self) -> None:
        self.risks: list[Risk | None] = []
        self.turns: list[list[dict[str, Any]]] = []

    async def after_user_message(self, session, conversation, inbound, risk) -> None:  # type: ignore[no-untyped-def]
        self.risks.append(risk)

    async def after_bot_turn(self, session, conversation, inbound, replies, risk) -> None:  # type: ignore[no-untyped-def]
        self.turns.append(replies)


async def test_counselor_held_conversation_gets_no_bot_reply_but_risk_is_read(
    app: FastAPI, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    hooks = RecordingHooks()
    app.state.context.pipeline_hooks.register(hooks)
    async with running(app) as http:
        await post_update(http, text_update(CHAT, "chào"))
        await eventually(lambda: len(_texts(fake_telegram)) == 1, what="first reply")
        assert hooks.risks[0] is not None and hooks.risks[0].level == "none" and hooks.risks[0].source == "action"
        with app.state.context.database.transaction() as session:
            conversation = session.scalars(select(Conversation)).one()
            conversation.state = "counselor"
            sender = conversation.sender_id
        await app.state.context.rasa.pause(sender)  # what the handoff does on accept
        await post_update(http, text_update(CHAT, "cứu em với"))
        await eventually(lambda: len(hooks.risks) == 2, what="second message processed")
        await drained(app)
        assert fake_rasa.texts() == ["chào", "cứu em với"]  # Rasa still logs it
        assert fake_rasa.parses and fake_rasa.parses[-1]["text"] == "cứu em với"
        risk = hooks.risks[1]
        assert risk is not None and risk.level == "imminent" and risk.escalate and risk.source == "parse"
        assert hooks.turns[1] == []
        assert len(_texts(fake_telegram)) == 1  # no bot reply while the counselor holds it


async def test_two_gateway_processes_share_the_work_without_duplicates(
    settings: Settings, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    fake_rasa.delay_seconds = 0.02
    first, second = create_app(settings), create_app(settings)
    async with running(first) as http_a, running(second) as http_b:
        users = [CHAT + i for i in range(4)]
        for n in range(5):
            await asyncio.gather(*(post_update(http_a if (u + n) % 2 else http_b, text_update(u, f"{u}-{n}"))
                                   for u in users))
        await eventually(lambda: len(fake_telegram.sent()) == 20, what="all replies")
        await drained(first)
        assert len(fake_telegram.sent()) == 20
        for u in users:
            assert _texts(fake_telegram, u) == [f"Mình nghe rồi: {u}-{n}" for n in range(5)]
