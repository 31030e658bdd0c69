"""While Rasa is down (503, or nothing listening), the gateway still reads every text with the risk
rules and lexicon it holds in-process: a disclosure they read as high opens its case at once, the
child gets the hotline fallback with 111, an ordinary message opens nothing, and once Rasa is back
the message is answered without being logged or alerted twice. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.cases.intake import SCREEN_KEY, risk_engine
from api.cases.models import Case, CaseMessage, Notification
from api.db.session import Database
from api.main import create_app
from api.messaging.models import Conversation, InboundMessage
from api.messaging.rasa_client import RasaUnavailable
from api.messaging.texts import SERVICE_UNAVAILABLE
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.server import free_port
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_settings
from tests.gateway.waiting import eventually

CHILD = 5550101
OTHER_CHILD = 5550102
# The rules read this high (physical violence with an injury); the fake Rasa reads it "none", so
# the case can only come from the gateway's own reading.
DISCLOSURE = "bố em đánh em chảy máu"
ORDINARY = "cho em hỏi giờ mở cửa thư viện"


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


def _count(database: Database, model: Any, *where: Any) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _inbound(database: Database, text: str, app: FastAPI) -> InboundMessage:
    crypto = app.state.context.crypto
    with database.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        return next(row for row in rows if crypto.decrypt(row.text_encrypted) == text)


def _texts(fake_telegram: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


def _all_done(database: Database, expected: int) -> bool:
    with database.session() as session:
        statuses = list(session.scalars(select(InboundMessage.status)))
    return len(statuses) == expected and all(status == "done" for status in statuses)


def _rasa_down(failure: str, fake_rasa: FakeRasa) -> dict[str, Any]:
    """Settings overrides for a Rasa that answers 503, or for one nothing listens for."""
    if failure == "503":
        fake_rasa.down = True
        return {}
    return {"rasa_url": f"http://127.0.0.1:{free_port()}"}  # connection refused


def _rasa_back(failure: str, fake_rasa: FakeRasa, app: FastAPI) -> None:
    if failure == "503":
        fake_rasa.down = False
    else:
        app.state.context.rasa.base_url = fake_rasa.url  # Rasa answering where the gateway asks


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", ["503", "refused"])
async def test_while_rasa_is_down_a_disclosure_opens_its_case_at_once(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, failure: str) -> None:
    async with _running(staff_settings(settings, **_rasa_down(failure, fake_rasa))) as (app, http):
        database: Database = app.state.context.database
        assert (await post_update(http, text_update(CHILD, DISCLOSURE))).status_code == 200
        assert (await post_update(http, text_update(OTHER_CHILD, ORDINARY))).status_code == 200

        # The case is open, and waiting for a counselor, when the webhook has answered.
        with database.session() as session:
            [case] = session.scalars(select(Case)).all()
            assert (case.level, case.status, case.category) == ("high", "waiting", "disclose_physical_abuse")
            assert session.get(Conversation, case.conversation_id).state == "waiting"
        disclosure = _inbound(database, DISCLOSURE, app)
        assert disclosure.message_metadata[SCREEN_KEY]["case_id"] == case.id

        # Both children get the safe fallback with 111 while Rasa does not answer.
        assert "111" in SERVICE_UNAVAILABLE.default
        await eventually(lambda: _texts(fake_telegram, CHILD) == [SERVICE_UNAVAILABLE.default]
                         and _texts(fake_telegram, OTHER_CHILD) == [SERVICE_UNAVAILABLE.default],
                         what="the hotline fallback to both children")
        ordinary = _inbound(database, ORDINARY, app)
        # Not answered: waiting for its retry, or in one (retries go on while Rasa is down).
        assert ordinary.status in ("pending", "processing") and ordinary.fallback_sent and ordinary.last_error
        assert SCREEN_KEY not in (ordinary.message_metadata or {})
        assert _count(database, Case) == 1 and not fake_rasa.messages

        # Rasa is back: both messages get their turn; nothing is logged or alerted twice.
        _rasa_back(failure, fake_rasa, app)
        await eventually(lambda: _all_done(database, 2), timeout=20, what="the Rasa turns")
        assert sorted(m["message"] for m in fake_rasa.messages) == sorted([DISCLOSURE, ORDINARY])
        assert _count(database, Case) == 1
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == disclosure.id) == 1
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == ordinary.id) == 0
        assert _count(database, Notification, Notification.kind == "new_case") == 1
        with database.session() as session:
            case = session.get(Case, case.id)
            assert case is not None and (case.level, case.status) == ("high", "waiting")


@pytest.mark.asyncio
async def test_a_disclosure_the_webhook_screen_missed_opens_its_case_when_rasa_is_found_down(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_rasa.down = True
    readings: list[str] = []
    real_assess = risk_engine.assess

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        readings.append("assess")
        if len(readings) == 1:
            raise RuntimeError("lexicon busy")  # the webhook's screen
        return real_assess(*args, **kwargs)

    monkeypatch.setattr(risk_engine, "assess", fails_once)
    async with _running(staff_settings(settings)) as (app, http):
        database: Database = app.state.context.database
        assert (await post_update(http, text_update(CHILD, DISCLOSURE))).status_code == 200
        assert readings == ["assess"] and _count(database, Case) == 0  # the webhook stored it, no case

        # The turn finds Rasa down, sends the fallback and reads the message in-process: the case
        # opens while Rasa is still down.
        await eventually(lambda: _count(database, Case) == 1, what="the case")
        with database.session() as session:
            case = session.scalar(select(Case))
            assert case is not None and (case.level, case.status) == ("high", "waiting")
        await eventually(lambda: _texts(fake_telegram, CHILD) == [SERVICE_UNAVAILABLE.default], what="the fallback")
        assert not fake_rasa.messages
        inbound = _inbound(database, DISCLOSURE, app)
        assert inbound.message_metadata[SCREEN_KEY]["case_id"] == case.id

        fake_rasa.down = False
        await eventually(lambda: _all_done(database, 1), timeout=20, what="the Rasa turn")
        assert _count(database, Case) == 1
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == inbound.id) == 1
        assert _count(database, Notification, Notification.kind == "new_case") == 1


# The rules read "nghiên cứu" (research) as everyday words; the fake Rasa's "classifier" flags any
# "cứu" as imminent: a disclosure only the classifier recognises.
CLASSIFIER_ONLY = "em đang làm bài nghiên cứu"
# Each message's own backoff alone would wait 60 to 120 s before the next try.
SLOW_BACKOFF = {"inbound_retry_base_seconds": 120.0, "inbound_retry_max_seconds": 120.0,
                "rasa_recovery_probe_seconds": 0.05}


@pytest.mark.asyncio
async def test_messages_that_waited_for_rasa_are_answered_as_soon_as_it_is_back(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    fake_rasa.down = True
    async with _running(staff_settings(settings, **SLOW_BACKOFF)) as (app, http):
        database: Database = app.state.context.database
        assert (await post_update(http, text_update(CHILD, CLASSIFIER_ONLY))).status_code == 200
        await eventually(lambda: _texts(fake_telegram, CHILD) == [SERVICE_UNAVAILABLE.default], what="the fallback")
        inbound = _inbound(database, CLASSIFIER_ONLY, app)
        assert inbound.status == "pending" and inbound.fallback_sent
        assert _count(database, Case) == 0  # the rules see nothing: it waits for the classifier

        fake_rasa.down = False
        # Well inside the message's own backoff: the probe saw Rasa back and retried it at once.
        await _answered_after_rasa_is_back(database, fake_rasa)


async def _answered_after_rasa_is_back(database: Database, fake_rasa: FakeRasa) -> None:
    # The message's own backoff is at least 60 s: a case within 30 s is the recovery's doing.
    await eventually(lambda: _count(database, Case) == 1, timeout=30, what="the case after Rasa is back")
    await eventually(lambda: _all_done(database, 1), timeout=30, what="the Rasa turn")
    with database.session() as session:
        case = session.scalar(select(Case))
        assert case is not None and (case.level, case.status) == ("imminent", "waiting")
    assert [m["message"] for m in fake_rasa.messages] == [CLASSIFIER_ONLY]


@pytest.mark.asyncio
async def test_a_rasa_back_before_any_probe_ran_still_answers_the_waiting_messages(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The turn that found Rasa not serving (503) counts as seeing it down: a supervisor that
    restarts Rasa before the first probe must not leave the message to its own backoff."""
    fake_rasa.down = True
    async with _running(staff_settings(settings, **SLOW_BACKOFF)) as (app, http):
        database: Database = app.state.context.database
        rasa = app.state.context.rasa
        rasa_back = asyncio.Event()
        real_is_up = rasa.is_up

        async def probe_once_rasa_is_back(*args: Any, **kwargs: Any) -> bool:
            await rasa_back.wait()  # no probe sees Rasa down
            return bool(await real_is_up(*args, **kwargs))

        monkeypatch.setattr(rasa, "is_up", probe_once_rasa_is_back)
        assert (await post_update(http, text_update(CHILD, CLASSIFIER_ONLY))).status_code == 200
        await eventually(lambda: _texts(fake_telegram, CHILD) == [SERVICE_UNAVAILABLE.default], what="the fallback")
        assert _inbound(database, CLASSIFIER_ONLY, app).status == "pending"

        fake_rasa.down = False
        rasa_back.set()
        await _answered_after_rasa_is_back(database, fake_rasa)


@pytest.mark.asyncio
async def test_a_rasa_that_answers_but_fails_the_turns_is_not_retried_early(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa is up (the probe gets its answer) but every turn fails, as when it is overloaded: each
    message keeps its own backoff instead of being retried at every probe."""
    async with _running(staff_settings(settings, **SLOW_BACKOFF)) as (app, http):
        database: Database = app.state.context.database
        rasa = app.state.context.rasa
        turns: list[str] = []
        probes: list[bool] = []
        real_is_up = rasa.is_up

        async def failing_turn(*args: Any, **kwargs: Any) -> Any:
            turns.append("turn")
            raise RasaUnavailable("POST /webhooks/rest/webhook: ReadTimeout")

        async def counted_probe(*args: Any, **kwargs: Any) -> bool:
            probes.append(up := await real_is_up(*args, **kwargs))
            return up

        monkeypatch.setattr(rasa, "send_message", failing_turn)
        monkeypatch.setattr(rasa, "is_up", counted_probe)
        assert (await post_update(http, text_update(CHILD, ORDINARY))).status_code == 200
        await eventually(lambda: _texts(fake_telegram, CHILD) == [SERVICE_UNAVAILABLE.default], what="the fallback")
        due = _inbound(database, ORDINARY, app).next_attempt_at
        await eventually(lambda: probes, what="a probe after the deferral")

        # A second deferred message makes the recovery probe again: the round that saw the first
        # one is over by then (the rounds run one after the other).
        assert (await post_update(http, text_update(OTHER_CHILD, DISCLOSURE))).status_code == 200
        await eventually(lambda: _texts(fake_telegram, OTHER_CHILD) == [SERVICE_UNAVAILABLE.default],
                         what="the second fallback")
        await eventually(lambda: len(probes) >= 2, what="a probe after the second deferral")

        assert all(probes)  # Rasa answered every probe
        inbound = _inbound(database, ORDINARY, app)
        assert inbound.status == "pending" and inbound.next_attempt_at == due  # its own backoff stands
        assert turns == ["turn", "turn"]
