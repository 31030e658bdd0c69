"""The purge removes exactly what the retention policy says, Rasa's trackers included (SQL store in
the test database; Redis on a db of its own), keeps what is held, open, subscribed or recent, and a
dry run changes nothing. SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models  # noqa: F401  (every table known, as in the app and the command line)
from api.auth.models import AuditLog
from api.cases.models import Case, CaseMessage, Notification
from api.cli import main as cli_main
from api.db.base import Base
from api.db.session import Database
from api.messaging.models import Conversation
from api.privacy.policy import RetentionPolicy
from api.privacy.purge import Purge
from api.privacy.trackers import TrackerStore
from api.security.crypto import Crypto
from api.settings import Settings, get_settings
from tests.gateway.privacy.conftest import RasaEvents
from tests.gateway.privacy.people import audit_entry, case_for, days_ago, person, subscribe

T = TypeVar("T")
REDIS_URL = "redis://127.0.0.1:6379/13"  # a db of the tests' own


@pytest.fixture
def crypto() -> Crypto:
    return Crypto(Settings(_env_file=None, id_hmac_secret="purge-test",  # type: ignore[call-arg]
                           data_encryption_key=Fernet.generate_key().decode()))


def _purge(database: Database, trackers: TrackerStore, **retention: Any) -> Purge:
    async def transact(fn: Callable[[Session], T]) -> T:
        with database.transaction() as session:
            return fn(session)

    settings = Settings(_env_file=None, **retention)  # type: ignore[call-arg]
    return Purge(RetentionPolicy.from_settings(settings), trackers, transact, batch_size=2, database=database)


def _snapshot(database: Database, events: RasaEvents) -> dict[str, int]:
    with database.session() as session:
        counts = {table.name: session.scalar(select(func.count()).select_from(table)) or 0
                  for table in Base.metadata.sorted_tables}
    counts["events"] = events.count()
    return counts


def _people(database: Database, crypto: Crypto, events: RasaEvents) -> dict[str, Any]:
    """One conversation per rule and exception (see the test for what each must become)."""
    with database.transaction() as session:
        people = {name: person(session, crypto, name, age_days=age) for name, age in
                  (("idle", 200), ("recent", 5), ("open", 200), ("old_case", 200), ("held", 200),
                   ("subscribed", 200), ("recent_case", 40))}
        case_for(session, crypto, people["open"], status="waiting")
        old_case = case_for(session, crypto, people["old_case"], closed_days_ago=400)
        held_case = case_for(session, crypto, people["held"], closed_days_ago=400, held=True)
        recent_case = case_for(session, crypto, people["recent_case"], closed_days_ago=10)
        session.query(Notification).filter(Notification.case_id == recent_case.id).update(
            {"created_at": days_ago(20)})
        subscribe(session, people["subscribed"])
        audit_entry(session, 800)
        recent_audit = audit_entry(session, 10)
        ids = {name: (conversation.id, conversation.sender_id) for name, conversation in people.items()}
        ids.update(old_case=ids["old_case"], cases={"old": old_case.id, "held": held_case.id},
                   recent_audit=recent_audit.id)
    for name in ("idle", "recent", "old_case", "held"):
        events.add(ids[name][1])
    return ids


EXPECTED = {
    "closed_cases": {"case_messages": 1, "case_notes": 1, "notifications": 1, "cases_anonymised": 1},
    "conversations": {"conversations": 2, "inbound_messages": 4, "outbound_messages": 4, "privacy_consents": 2,
                      "content_inbox_items": 2, "rasa_tracker": 6},
    "message_rows": {"inbound_messages": 4, "outbound_messages": 4},
    "delivery_logs": {"notifications": 1},
    "audit_log": {"audit_log": 1},
}


def _nonzero(report: Any) -> dict[str, dict[str, int]]:
    return {rule: {name: count for name, count in counts.items() if count}
            for rule, counts in report.by_rule.items() if any(counts.values())}


@pytest.mark.asyncio
async def test_purge_takes_exactly_what_the_policy_says(database: Database, crypto: Crypto,
                                                        rasa_events: RasaEvents, database_url: str) -> None:
    ids = _people(database, crypto, rasa_events)
    trackers = TrackerStore(database_url)
    before = _snapshot(database, rasa_events)

    dry = await _purge(database, trackers).run(dry_run=True)
    assert _nonzero(dry) == EXPECTED
    assert _snapshot(database, rasa_events) == before  # a dry run changes nothing

    report = await _purge(database, trackers).run()
    assert _nonzero(report) == EXPECTED
    with database.session() as session:
        left = {conversation.sender_id for conversation in session.scalars(select(Conversation))}
        kept = {name for name in ("recent", "open", "held", "subscribed", "recent_case") if ids[name][1] in left}
        assert kept == {"recent", "open", "held", "subscribed", "recent_case"}
        assert ids["idle"][1] not in left and ids["old_case"][1] not in left
        assert "telegram:erased" in left  # the tombstone the anonymised case hangs from
        old_case = session.get(Case, ids["cases"]["old"])
        assert old_case is not None and old_case.sender_id == "telegram:erased"
        assert (old_case.level, old_case.category, old_case.outcome) == ("high", "disclose_physical_abuse", "advised")
        assert session.scalar(select(func.count()).select_from(CaseMessage).where(
            CaseMessage.case_id == ids["cases"]["held"])) == 1  # legal hold: untouched
        held = session.get(Case, ids["cases"]["held"])
        assert held is not None and held.sender_id == ids["held"][1]
        actions = Counter(entry.action for entry in session.scalars(select(AuditLog)))
        assert actions == Counter({"case.view": 1, "privacy.purge": 1})
    assert rasa_events.count(ids["recent"][1]) == 3 and rasa_events.count(ids["held"][1]) == 3
    assert rasa_events.count(ids["idle"][1]) == 0 and rasa_events.count(ids["old_case"][1]) == 0
    after = _snapshot(database, rasa_events)
    assert after["inbound_messages"] == before["inbound_messages"] - 8
    assert after["conversations"] == before["conversations"] - 2 + 1  # two purged, the tombstone made

    again = await _purge(database, trackers).run()
    assert _nonzero(again) == {}  # nothing left to take
    trackers.dispose()


@pytest.mark.asyncio
async def test_a_rule_set_to_zero_keeps_its_data(database: Database, crypto: Crypto, rasa_events: RasaEvents,
                                                 database_url: str) -> None:
    ids = _people(database, crypto, rasa_events)
    trackers = TrackerStore(database_url)
    report = await _purge(database, trackers, retention_conversation_days=0, retention_closed_case_months=0,
                          retention_message_rows_days=0, retention_delivery_log_days=0,
                          retention_audit_log_days=0).run()
    assert _nonzero(report) == {}
    assert rasa_events.count(ids["idle"][1]) == 3
    trackers.dispose()


def test_command_line_dry_run_prints_per_table(database: Database, crypto: Crypto, rasa_events: RasaEvents,
                                               database_url: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _people(database, crypto, rasa_events)
    before = _snapshot(database, rasa_events)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PURGE_TRACKER_STORE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["purge", "--dry-run"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "dry run: nothing was changed" in out
    lines = {tuple(line.split()) for line in out.splitlines()}
    assert ("conversations", "conversations", "2") in lines
    assert ("conversations", "rasa_tracker", "6") in lines
    assert ("closed_cases", "cases_anonymised", "1") in lines
    assert _snapshot(database, rasa_events) == before


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:tracker:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.delete("unrelated:" + prefix)
    client.close()


@pytest.mark.asyncio
async def test_purge_deletes_redis_trackers(database: Database, crypto: Crypto, rasa_events: RasaEvents,
                                            redis_prefix: str) -> None:
    ids = _people(database, crypto, rasa_events)
    client = redis.Redis.from_url(REDIS_URL)
    for name in ("idle", "recent", "held"):
        client.set(f"{redis_prefix}{ids[name][1]}", b"{}")
    client.set("unrelated:" + redis_prefix, b"keep")
    trackers = TrackerStore(REDIS_URL, redis_key_prefix=redis_prefix)

    dry = await _purge(database, trackers).run(dry_run=True)
    assert dry.by_rule["conversations"]["rasa_tracker"] == 1
    assert client.exists(f"{redis_prefix}{ids['idle'][1]}") == 1

    report = await _purge(database, trackers).run()
    assert report.by_rule["conversations"]["rasa_tracker"] == 1
    assert client.exists(f"{redis_prefix}{ids['idle'][1]}") == 0
    assert client.exists(f"{redis_prefix}{ids['recent'][1]}", f"{redis_prefix}{ids['held'][1]}") == 2
    assert client.get("unrelated:" + redis_prefix) == b"keep"
    client.close()


@pytest.mark.asyncio
async def test_the_gateway_purges_on_its_own(settings: Settings, database_url: str, crypto: Crypto,
                                             rasa_events: RasaEvents) -> None:
    """The periodic purge in the running gateway (first round one interval after start)."""
    from api.main import create_app
    from tests.gateway.waiting import eventually

    app = create_app(Settings(_env_file=None, **{**settings.model_dump(), "purge_interval_seconds": 0.5}))  # type: ignore[call-arg]
    async with app.router.lifespan_context(app):
        with app.state.context.database.transaction() as session:
            sender = person(session, crypto, "periodic", age_days=200).sender_id
        rasa_events.add(sender)

        def purged() -> bool:
            with app.state.context.database.session() as session:
                return session.scalar(select(Conversation.id).where(Conversation.sender_id == sender)) is None

        await eventually(purged, what="the periodic purge")
        assert rasa_events.count(sender) == 0
