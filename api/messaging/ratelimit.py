"""Small async token buckets for delivery rate limits (global and per recipient)."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import OrderedDict


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
