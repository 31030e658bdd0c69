"""endpoints.yml as Rasa reads it: empty URLs give the in-memory stores (`make run`), set URLs the
shared ones; and the Redis lock store is one lock for several Rasa processes."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain

from rasa_stores.lock import UrlLockStore
from rasa_stores.sealing import generate_key
from rasa_stores.tracker import ProtectedTrackerStore
from tests.stores.conftest import PG_URL, REDIS_BASE

ENDPOINTS = Path(__file__).resolve().parents[2] / "endpoints.yml"


def _env(monkeypatch: pytest.MonkeyPatch, values: Dict[str, str]) -> None:
    base = {"ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook", "NLG_URL": "", "NLG_TOKEN": "",
            "TRACKER_STORE_URL": "", "LOCK_STORE_URL": ""}
    for name, value in {**base, **values}.items():
        monkeypatch.setenv(name, value)


def _unwrap(store: TrackerStore) -> TrackerStore:
    # Rasa wraps a synchronous store in AwaitableTrackerStore; ours is asynchronous.
    return getattr(store, "_tracker_store", store)


def test_empty_urls_give_in_memory_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, {})
    monkeypatch.delenv("TRACKER_ENCRYPTION_KEY", raising=False)
    endpoints = read_endpoints_from_path(ENDPOINTS)
    tracker_store = _unwrap(TrackerStore.create(endpoints.tracker_store, Domain.empty()))
    assert isinstance(tracker_store, ProtectedTrackerStore)
    assert isinstance(tracker_store.inner, InMemoryTrackerStore)
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, UrlLockStore)
    assert isinstance(lock_store.inner, InMemoryLockStore)


def test_set_urls_give_sql_and_redis(monkeypatch: pytest.MonkeyPatch, pg_schema: str) -> None:
    _env(monkeypatch, {"TRACKER_STORE_URL": PG_URL, "LOCK_STORE_URL": f"{REDIS_BASE}/1",
                       "TRACKER_ENCRYPTION_KEY": generate_key()})
    endpoints = read_endpoints_from_path(ENDPOINTS)
    tracker_store = _unwrap(TrackerStore.create(endpoints.tracker_store, Domain.empty()))
    assert isinstance(tracker_store, ProtectedTrackerStore)
    assert isinstance(tracker_store.inner, SQLTrackerStore)
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store.inner, RedisLockStore)


def test_the_redis_lock_is_shared_between_two_processes_stores(redis_prefix: str) -> None:
    first = UrlLockStore(url=f"{REDIS_BASE}/1", key_prefix=redis_prefix)
    second = UrlLockStore(url=f"{REDIS_BASE}/1", key_prefix=redis_prefix)
    order = []

    async def handle(store: UrlLockStore, name: str, hold: float) -> None:
        async with store.lock("conv-lock", wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    async def both() -> None:
        first_task = asyncio.create_task(handle(first, "a", 0.3))
        await asyncio.sleep(0.05)  # a holds the lock before b asks
        await asyncio.gather(first_task, handle(second, "b", 0.0))

    asyncio.run(both())
    assert order == ["a in", "a out", "b in", "b out"]
    assert first.get_lock("conv-lock") is None  # released and removed


def test_lock_store_refuses_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported scheme"):
        UrlLockStore(url="memcached://h")
