"""Delivery rates shared by gateway replicas through Redis (api.messaging.ratelimit.SharedRate):
two processes' limiters draw from one window per key; without Redis each process keeps its own."""
from __future__ import annotations

import uuid

import pytest
import redis

from api.db.gate import WriteGate
from api.db.session import Database
from api.messaging.delivery import DeliveryWorker
from api.messaging.ratelimit import SharedRate, _window_item
from api.messaging.senders import ChannelRegistry
from api.security.crypto import Crypto
from api.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_uri() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return f"async+{REDIS_URL}"


def test_a_rate_becomes_a_whole_number_window() -> None:
    assert (_window_item(25.0, 25.0).amount, _window_item(25.0, 25.0).get_expiry()) == (25, 1)
    assert (_window_item(1.0, 3.0).amount, _window_item(1.0, 3.0).get_expiry()) == (3, 3)  # burst 3
    assert (_window_item(0.5, 1.0).amount, _window_item(0.5, 1.0).get_expiry()) == (1, 2)  # one per 2 s


@pytest.mark.asyncio
async def test_two_replicas_draw_from_one_window(redis_uri: str) -> None:
    name = f"delivery-test-{uuid.uuid4().hex[:8]}"
    replica_a = SharedRate(redis_uri, rate_per_second=1.0, burst=5.0, name=name)  # 5 sends per 5 s
    replica_b = SharedRate(redis_uri, rate_per_second=1.0, burst=5.0, name=name)
    assert replica_a.shared and replica_b.shared
    taken = [await replica_a.try_acquire("bot") for _ in range(3)] + [await replica_b.try_acquire("bot")
                                                                      for _ in range(2)]
    assert taken == [True] * 5
    assert not await replica_a.try_acquire("bot")  # the window is full for both
    assert not await replica_b.try_acquire("bot")
    assert await replica_b.try_acquire("another recipient")  # each key has its own window


@pytest.mark.asyncio
async def test_without_redis_each_process_keeps_its_own_buckets() -> None:
    local = SharedRate("async+memory://", rate_per_second=1.0, burst=1.0, name="delivery-all")
    assert not local.shared
    assert all([await local.try_acquire("bot") for _ in range(10)])  # the process's buckets hold alone


def test_the_delivery_worker_shares_its_rates_when_redis_is_set(redis_uri: str, database: Database,
                                                                settings: Settings) -> None:
    crypto = Crypto(settings)
    shared = settings.model_copy(update={"rate_limit_storage_url": REDIS_URL})
    worker = DeliveryWorker(WriteGate(database), ChannelRegistry(), crypto, shared)
    assert worker.shared_global.shared and worker.shared_recipient.shared and worker.shared_broadcast.shared
    alone = DeliveryWorker(WriteGate(database), ChannelRegistry(), crypto, settings)
    assert not alone.shared_global.shared
