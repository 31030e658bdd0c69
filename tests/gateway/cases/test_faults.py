"""Faults during a disclosure: the database goes away mid-conversation, Rasa is down.
The case is retried until stored; the child always gets 111."""
from __future__ import annotations

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.cases.emergency import STORAGE_DOWN_TEXT
from api.cases.models import Case, CaseMessage
from api.cases.service import HANDOFF_OFFLINE, HANDOFF_WAITING
from api.messaging.models import InboundMessage
from api.messaging.texts import SERVICE_UNAVAILABLE
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import staff_settings
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio
CHILD = 5550003


def _texts(fake_telegram: FakeTelegram) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(CHILD)]


def _claimed(gateway) -> bool:  # type: ignore[no-untyped-def]
    with gateway.app.state.context.database.session() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status == "processing")) == 1


def _case_stored(gateway) -> bool:  # type: ignore[no-untyped-def]
    with gateway.app.state.context.database.session() as session:
        return session.scalar(select(Case.id)) is not None


def _set_database_available(admin_dsn: str, name: str, available: bool) -> None:
    """Like a restart: refuse new connections and cut every open one (or allow them again)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if available else "false"}')
        if not available:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


async def test_database_down_mid_disclosure_case_is_stored_once_back(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa,
        postgres_admin_dsn: str) -> None:
    if settings.database_url.startswith("sqlite"):
        pytest.skip("a database server restart only exists for PostgreSQL")
    name = make_url(settings.database_url).database
    assert name
    gateway_settings = staff_settings(settings, worker_lease_seconds=2.0)
    with live_gateway(gateway_settings) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            await post_update(http, text_update(CHILD, "xin chào"))
            await eventually(lambda: len(_texts(fake_telegram)) == 1, what="first reply")

            fake_rasa.holding = True  # the disclosure is at Rasa when the database goes away
            assert (await post_update(http, text_update(CHILD, "cứu em, chú ấy đang ở ngoài cửa"))).status_code == 200
            await eventually(lambda: _claimed(gateway), what="disclosure claimed by the worker")
            await eventually(lambda: fake_rasa.in_flight == 1, what="the disclosure at Rasa")
            _set_database_available(postgres_admin_dsn, name, False)
            fake_rasa.holding = False
            try:
                # While the database is down the child already has the safe reply and 111.
                await eventually(lambda: any(STORAGE_DOWN_TEXT == t for t in _texts(fake_telegram)),
                                 what="direct reply while storage is down")
                assert any("111" in t for t in _texts(fake_telegram)[1:-1])  # the bot's own safe reply
                with gateway.app.state.context.database.session() as session:
                    with pytest.raises(Exception):  # noqa: B017 (any connection error proves it is down)
                        session.scalar(select(Case.id))
            finally:
                _set_database_available(postgres_admin_dsn, name, True)

            # Retried until stored: the case exists once, with the message; the turn's replies follow.
            await eventually(lambda: any(t in (HANDOFF_WAITING.default, HANDOFF_OFFLINE.default)
                                         for t in _texts(fake_telegram)), timeout=30,
                             what="handoff message once the database is back")
            with gateway.app.state.context.database.session() as session:
                cases = list(session.scalars(select(Case)))
                assert len(cases) == 1 and cases[0].level == "imminent" and cases[0].status == "waiting"
                crypto = gateway.app.state.context.crypto
                texts = [crypto.decrypt(m.text_encrypted) for m in session.scalars(
                    select(CaseMessage).where(CaseMessage.author == "child"))]
                assert texts == ["cứu em, chú ấy đang ở ngoài cửa"]


async def test_sqlite_locked_by_another_process_mid_disclosure(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    """SQLite's form of "unavailable": another process holds the write lock for a while."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL is covered by the restart test above")
    import sqlite3

    path = make_url(settings.database_url).database
    assert path
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as http:
            fake_rasa.holding = True  # Rasa answers only once the lock is taken
            # Worded so the intake screen's lexicon lets it through: the case comes from the Rasa turn.
            assert (await post_update(http, text_update(CHILD, "có ai cứu không"))).status_code == 200
            await eventually(lambda: fake_rasa.in_flight == 1, what="the disclosure at Rasa")
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")  # a backup or migration holding the database
            fake_rasa.holding = False
            try:
                # Rasa has answered: the turn now waits for the write lock (SQLite's busy timeout).
                await eventually(lambda: "có ai cứu không" in fake_rasa.texts(), what="Rasa's answer")
                with gateway.app.state.context.database.session() as session:
                    assert session.scalar(select(Case.id)) is None  # not stored while the lock is held
            finally:
                other.execute("COMMIT")
                other.close()
            await eventually(lambda: _case_stored(gateway), timeout=30, what="case stored after the lock")
            await eventually(lambda: len(_texts(fake_telegram)) >= 2, what="replies")
            assert "111" in _texts(fake_telegram)[0] and "111" in _texts(fake_telegram)[1]
            with gateway.app.state.context.database.session() as session:
                case = session.scalar(select(Case))
                assert case is not None and case.level == "imminent"


async def test_rasa_down_child_gets_111_then_case_when_back(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            fake_rasa.down = True
            # Worded so the intake screen's lexicon lets it through: only the Rasa turn finds the risk.
            await post_update(http, text_update(CHILD, "có ai cứu không"))
            await eventually(lambda: SERVICE_UNAVAILABLE.default in _texts(fake_telegram), what="fallback with 111")
            assert "111" in SERVICE_UNAVAILABLE.default
            with gateway.app.state.context.database.session() as session:
                assert session.scalar(select(Case.id)) is None
            fake_rasa.down = False
            await eventually(lambda: len(_texts(fake_telegram)) >= 3, what="reply + handoff")
            with gateway.app.state.context.database.session() as session:
                case = session.scalar(select(Case))
                assert case is not None and case.level == "imminent" and case.status == "waiting"
