"""Small async token buckets for delivery rate limits (global and per recipient)."""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict


class TokenBucket:
    def __init__(self, rate_per_second: float, burst: float) -> None:
        self.rate = max(rate_per_second, 1e-6)
        self.capacity = max(burst, 1.0)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def available(self) -> float:
        """Tokens there are now (a full bucket sends its whole burst at once)."""
        self._refill()
        return self._tokens

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


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
