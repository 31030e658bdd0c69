"""The project's tracker store on real PostgreSQL and Redis: conversations come back whole (intents,
slots, the text for the actions' context reading) while the stored rows hold no message text."""
from __future__ import annotations

import asyncio
import json
from typing import Any, List

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_stores.sealing import PREFIX, Sealer, generate_key
from rasa_stores.tracker import ProtectedTrackerStore, sql_url
from tests.stores.conftest import PG_URL, REDIS_URL, pg_rows

SECRET_1 = "bố em đánh em đau lắm, em sợ về nhà"
SECRET_2 = "hôm nay bố lại say rượu"
WORDS = ["đánh", "sợ về nhà", "say rượu", "danh em"]

DOMAIN = Domain.from_dict(
    {
        "version": "3.1",
        "intents": ["greet", "disclose_abuse"],
        "slots": {
            "risk_level": {
                "type": "categorical",
                "values": ["none", "concern", "high", "imminent"],
                "influence_conversation": False,
                "mappings": [{"type": "custom"}],
            },
            "counselor_requested": {
                "type": "bool",
                "influence_conversation": False,
                "mappings": [{"type": "custom"}],
            },
        },
        "actions": ["action_reply"],
        "responses": {"utter_greet": [{"text": "Chào em"}]},
    }
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def user(text: str, intent: str, timestamp: float) -> UserUttered:
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.93},
        "intent_ranking": [{"name": intent, "confidence": 0.93}],
        "entities": [],
        "risk": {"level": "high", "category": "physical_abuse", "signals": ["lex:physical"]},
    }
    return UserUttered(text, parse_data["intent"], [], parse_data, timestamp=timestamp,
                       input_channel="rest", message_id=f"m{timestamp}")


def conversation(sender: str, turns: int = 1) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    events: List[Any] = [
        ActionExecuted("action_session_start", timestamp=1000.0),
        SessionStarted(timestamp=1000.1),
        ActionExecuted("action_listen", timestamp=1000.2),
        user(SECRET_1, "disclose_abuse", 1001.0),
        ActionExecuted("action_reply", timestamp=1001.1),
        BotUttered("Cảm ơn em đã kể. Em có thể gọi 111.", timestamp=1001.2),
        SlotSet("risk_level", "high", timestamp=1001.3),
        SlotSet("counselor_requested", True, timestamp=1001.4),
        ActionExecuted("action_listen", timestamp=1001.5),
    ]
    for event in events:
        tracker.update(event)
    if turns > 1:
        second_turn(tracker)
    return tracker


def second_turn(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """The next message, added to a tracker as Rasa adds it to the one it retrieved."""
    for event in [
        user(SECRET_2, "disclose_abuse", 1002.0),
        ActionExecuted("action_reply", timestamp=1002.1),
        ActionExecuted("action_listen", timestamp=1002.2),
    ]:
        tracker.update(event)
    return tracker


def assert_same_conversation(got: DialogueStateTracker, expected: DialogueStateTracker) -> None:
    assert got is not None
    assert got.get_slot("risk_level") == "high"
    assert got.get_slot("counselor_requested") is True
    # Rasa's SQL store returns the latest session from its `session_started` on.
    got_events = [e.as_dict() for e in got.events]
    assert got_events[0]["event"] in ("action", "session_started")
    assert got_events == [e.as_dict() for e in expected.events][-len(got_events):]
    assert got.latest_message.intent["name"] == "disclose_abuse"
    assert got.latest_message.parse_data["risk"]["level"] == "high"


def assert_no_text(blob: str) -> None:
    for secret in [SECRET_1, SECRET_2, *WORDS]:
        assert secret not in blob
        assert json.dumps(secret)[1:-1] not in blob  # the JSON-escaped spelling too


# ------------------------------------------------------------------------------ PostgreSQL


def test_sql_round_trip_keeps_slots_and_intents_and_rows_hold_no_text(pg_schema: str, sealer: Sealer) -> None:
    store = ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=sealer)
    assert isinstance(store.inner, SQLTrackerStore)
    tracker = conversation("conv-sql", turns=2)
    run(store.save(tracker))

    assert_same_conversation(run(store.retrieve("conv-sql")), tracker)
    rows = pg_rows(pg_schema)
    assert len(rows) == len(tracker.events)
    user_rows = [row for row in rows if row[1] == "user"]
    assert [row[2] for row in user_rows] == ["disclose_abuse", "disclose_abuse"]
    for row in rows:
        assert_no_text(" ".join(str(part) for part in row))
    for row in user_rows:
        data = json.loads(row[4])
        assert data["text"].startswith(PREFIX)
        assert data["parse_data"]["text"].startswith(PREFIX)
        assert data["parse_data"]["intent"]["name"] == "disclose_abuse"


def test_sql_two_instances_see_the_same_conversation_and_appends_are_not_duplicated(
    pg_schema: str, key: str
) -> None:
    first = ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=Sealer.from_text(key))
    second = ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=Sealer.from_text(key))
    one_turn = conversation("conv-shared", turns=1)
    run(first.save(one_turn))

    # The second replica continues the conversation the first one saved.
    seen = run(second.retrieve("conv-shared"))
    assert_same_conversation(seen, one_turn)
    assert seen.latest_message.text == SECRET_1  # opened for the actions' context reading
    run(second.save(second_turn(seen)))

    again = run(first.retrieve("conv-shared"))
    two_turns = conversation("conv-shared", turns=2)
    assert_same_conversation(again, two_turns)
    assert again.latest_message.text == SECRET_2
    assert len(pg_rows(pg_schema)) == len(two_turns.events)
    assert set(run(first.keys())) == {"conv-shared"}
    assert run(second.exists("conv-shared"))
    assert not run(second.exists("nobody"))


def test_postgres_url_spellings_reach_psycopg2() -> None:
    assert sql_url("postgres://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert sql_url("postgresql+psycopg://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert sql_url("postgresql://h/db") == "postgresql+psycopg2://h/db"


# ------------------------------------------------------------------------------ Redis


def test_redis_round_trip_shared_by_two_instances_holds_no_text(redis_prefix: str, key: str) -> None:
    import redis

    first = ProtectedTrackerStore(DOMAIN, host=REDIS_URL, key_prefix=redis_prefix, sealer=Sealer.from_text(key))
    second = ProtectedTrackerStore(DOMAIN, host=REDIS_URL, key_prefix=redis_prefix, sealer=Sealer.from_text(key))
    assert isinstance(first.inner, RedisTrackerStore)
    one_turn = conversation("conv-redis", turns=1)
    run(first.save(one_turn))
    assert_same_conversation(run(second.retrieve("conv-redis")), one_turn)

    # Saving again re-seals the earlier events to the same bytes: Redis's merge adds nothing twice.
    two_turns = second_turn(run(second.retrieve("conv-redis")))
    run(second.save(two_turns))
    run(second.save(two_turns))
    back = run(first.retrieve("conv-redis"))
    assert_same_conversation(back, two_turns)

    client = redis.Redis.from_url(REDIS_URL)
    names = list(client.scan_iter(match=f"{redis_prefix}*"))
    assert len(names) == 1
    raw = client.get(names[0]).decode()
    assert_no_text(raw)
    assert raw.count(PREFIX) == 4  # two messages, each in text and parse_data
    assert client.ttl(names[0]) == -1  # no expiry unless asked for
    client.close()


def test_redis_expiry_from_the_environment(redis_prefix: str, sealer: Sealer, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    monkeypatch.setenv("TRACKER_STORE_EXPIRY_SECONDS", "3600")
    store = ProtectedTrackerStore(DOMAIN, host=REDIS_URL, key_prefix=redis_prefix, sealer=sealer)
    run(store.save(conversation("conv-exp")))
    client = redis.Redis.from_url(REDIS_URL)
    (name,) = list(client.scan_iter(match=f"{redis_prefix}*"))
    assert 3500 < client.ttl(name) <= 3600
    client.close()


# ------------------------------------------------------------------------------ keys and defaults


def test_in_memory_by_default_needs_no_key_and_keeps_no_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEY", raising=False)
    store = ProtectedTrackerStore(DOMAIN, host="")
    assert isinstance(store.inner, InMemoryTrackerStore)
    tracker = conversation("conv-mem", turns=2)
    run(store.save(tracker))
    assert_same_conversation(run(store.retrieve("conv-mem")), tracker)
    assert_no_text(store.inner.store["conv-mem"])


def test_a_persistent_store_refuses_to_start_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ValueError, match="TRACKER_ENCRYPTION_KEY"):
        ProtectedTrackerStore(DOMAIN, host=PG_URL)


def test_unknown_scheme_is_refused(sealer: Sealer) -> None:
    with pytest.raises(ValueError, match="unsupported scheme"):
        ProtectedTrackerStore(DOMAIN, host="mongodb://h/db", sealer=sealer)


def test_rotation_and_a_lost_key(pg_schema: str) -> None:
    old, new = generate_key(), generate_key()
    tracker = conversation("conv-rot")
    run(ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=Sealer.from_text(old)).save(tracker))

    rotated = ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=Sealer.from_text(f"{new},{old}"))
    assert run(rotated.retrieve("conv-rot")).latest_message.text == SECRET_1

    # Without the key the conversation goes on: intents and slots stay, the old text reads empty.
    lost = run(ProtectedTrackerStore(DOMAIN, host=PG_URL, sealer=Sealer.from_text(new)).retrieve("conv-rot"))
    assert lost.get_slot("risk_level") == "high"
    assert lost.latest_message.intent["name"] == "disclose_abuse"
    assert lost.latest_message.text == ""


def test_sealing_is_bound_to_the_event_and_the_conversation(sealer: Sealer) -> None:
    event = user(SECRET_1, "disclose_abuse", 1.5).as_dict()
    sealed = sealer.seal_event(event, "a")
    assert sealer.seal_event(event, "a") == sealed  # deterministic for one event
    later = sealer.seal_event(dict(event, timestamp=2.5), "a")
    assert later["text"] != sealed["text"]  # the same words at another time look different
    assert sealer.open_event(sealed, "a")["text"] == SECRET_1
    assert sealer.open_event(sealed, "b")["text"] == ""  # moved to another conversation
    assert sealer.seal_event(sealed, "a") == sealed  # never sealed twice
    assert sealer.seal_event({"event": "bot", "text": "Chào em"}, "a")["text"] == "Chào em"
