"""Delivery rate limits: small async token buckets in the process (global with priorities, per
recipient, broadcast pace) and the same rates shared across gateway processes through Redis."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import OrderedDict

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class _Tokens:
    """Tokens that come back at `rate` a second up to `capacity` (the state both buckets share)."""

    def __init__(self, rate_per_second: float, burst: float) -> None:
        self.rate = max(rate_per_second, 1e-6)
        self.capacity = max(burst, 1.0)
        self._tokens = self.capacity
        self._updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def available(self) -> float:
        """Tokens there are now (a full bucket sends its whole burst at once)."""
        self._refill()
        return self._tokens


class TokenBucket(_Tokens):
    def __init__(self, rate_per_second: float, burst: float) -> None:
        super().__init__(rate_per_second, burst)
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class PriorityTokenBucket(_Tokens):
    """A token bucket whose tokens go to the waiter with the lowest `priority` first (first come,
    first served among equals): a reply waiting for the global rate is served before the broadcast
    sends that were already waiting."""

    def __init__(self, rate_per_second: float, burst: float) -> None:
        super().__init__(rate_per_second, burst)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._dispenser: asyncio.Task[None] | None = None

    async def acquire(self, priority: int = 0) -> None:
        self._refill()
        if not self._waiters and self._tokens >= 1:
            self._tokens -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), waiter))
        if self._dispenser is None or self._dispenser.done():
            self._dispenser = asyncio.create_task(self._dispense(), name="token-dispenser")
        await waiter

    async def _dispense(self) -> None:
        """Hand out tokens as they come, best waiter first, until nobody waits."""
        while self._waiters:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                continue
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():  # a cancelled waiter gets no token
                self._tokens -= 1
                waiter.set_result(None)


class KeyedBuckets:
    """One bucket per key (recipient), forgetting the least recently used beyond `max_keys`."""

    def __init__(self, rate_per_second: float, burst: float, max_keys: int = 10_000) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[object, TokenBucket] = OrderedDict()

    def bucket(self, key: object) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket


class SharedRate:
    """A rate shared by every gateway process through the `limits` storage (Redis), on top of the
    process's own buckets: two replicas together stay within one bot's limits. Without a shared
    storage (`rate_limit_storage_url` empty) it admits at once and the process's buckets hold alone.

    The rate is kept as a moving window (`_window_item`): whole numbers of sends and seconds, as the
    limits library counts them.
    """

    def __init__(self, storage_uri: str, rate_per_second: float, burst: float, name: str) -> None:
        self.name = name
        self._limiter: MovingWindowRateLimiter | None = None
        if storage_uri.startswith("async+redis"):
            storage = storage_from_string(storage_uri, implementation="redispy")
            self._limiter = MovingWindowRateLimiter(storage)
        self._item = _window_item(rate_per_second, burst)

    @property
    def shared(self) -> bool:
        return self._limiter is not None

    async def try_acquire(self, *key: str) -> bool:
        """Take one send from the shared window under this key if it has room."""
        return self._limiter is None or await self._limiter.hit(self._item, self.name, *key)

    async def acquire(self, *key: str) -> None:
        """Wait until the shared window has room for one more send under this key."""
        while not await self.try_acquire(*key):
            assert self._limiter is not None
            stats = await self._limiter.get_window_stats(self._item, self.name, *key)
            await asyncio.sleep(min(1.0, max(0.005, stats.reset_time - time.time())))


def _window_item(rate_per_second: float, burst: float) -> RateLimitItem:
    """r per second with a burst of b as a whole-number moving window: b/r seconds (at least one),
    holding r times as many sends."""
    rate = max(rate_per_second, 1e-3)
    seconds = max(1, math.ceil(max(1.0, burst) / rate))
    return RateLimitItemPerSecond(max(1, math.floor(rate * seconds)), seconds)
