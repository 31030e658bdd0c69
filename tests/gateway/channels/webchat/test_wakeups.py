"""A browser's long poll wakes when its reply is stored, also when another gateway process stored it
(Redis pub/sub), and the per-browser limit is counted across processes when Redis is set."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from api.channels.webchat.routes import RATE_BURST, RateLimiter
from api.channels.webchat.wakeups import MailboxWakeups, RedisWakeups

REDIS_URL = "redis://127.0.0.1:6379/14"
pytestmark = pytest.mark.asyncio


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return REDIS_URL


async def test_a_waiter_wakes_on_its_own_key_only() -> None:
    wakeups = MailboxWakeups()
    mine = asyncio.create_task(wakeups.wait("conversation-a", timeout=10))
    other = asyncio.create_task(wakeups.wait("conversation-b", timeout=0.3))
    await asyncio.sleep(0)  # both tasks run up to their wait
    assert wakeups.waiting == 2
    wakeups.notify("conversation-a")
    assert await mine is True
    assert await other is False  # nobody stored a reply for b: it waited out its timeout
    assert wakeups.waiting == 0


async def test_a_reply_stored_by_another_process_wakes_this_one(redis_url: str) -> None:
    here, there = MailboxWakeups(), MailboxWakeups()  # two gateway processes
    relay_here = await RedisWakeups(redis_url, here).start()
    relay_there = await RedisWakeups(redis_url, there).start()
    try:
        key = uuid.uuid4().hex
        waiting = asyncio.create_task(here.wait(key, timeout=10))
        woken = False
        for _ in range(50):  # until both subscriptions are live, the publish may find no listener
            there.notify(key)
            done, _ = await asyncio.wait({waiting}, timeout=0.2)
            if done:
                woken = waiting.result()
                break
        assert woken is True
    finally:
        await relay_here.stop()
        await relay_there.stop()


async def test_the_browser_limit_is_shared_through_redis(redis_url: str) -> None:
    key = uuid.uuid4().hex
    first, second = RateLimiter(f"async+{redis_url}"), RateLimiter(f"async+{redis_url}")
    allowed = [await (first if n % 2 else second).allow(key) for n in range(RATE_BURST)]
    assert all(allowed)
    assert not await first.allow(key) and not await second.allow(key)  # the burst is spent for both
    assert await first.allow(uuid.uuid4().hex)  # another browser is not affected
