"""Login throttling: limits per client address and for the whole gateway, a slowdown per email, and
the password check on a small pool of its own.

    throttle = LoginThrottle(settings)          # on the app context (context.login_throttle)
    delay = await throttle.admit(email, address)   # raises Throttled(retry_after) → 429
    await asyncio.sleep(delay)                  # grows with the email's recent failures
    ok = await throttle.verify(password_hash, password)
    await (throttle.succeeded(email) if ok else throttle.failed(email))

Why this shape:
- A password check costs ~100 ms of CPU. It runs on `password_hash_threads` threads (1 by default),
  so a flood of logins can never take more than that share of the machine from the message path,
  and the global limit keeps the queue in front of that pool short.
- Login attempts are counted per client address: a flood from one address gets 429 at once.
- An email's failures never lock its owner out. They slow every further attempt on that email
  (progressively, up to `login_delay_max_seconds`), which makes guessing one password slow, while
  the right password still signs the person in.
- The counters live in the `limits` storage (memory, or Redis when `rate_limit_storage_url` is
  set): they expire on their own, so memory stays bounded without ever wiping everyone's state.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
import time
from concurrent.futures import ThreadPoolExecutor

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.storage import storage_from_string

from api.auth.passwords import verify_password
from api.settings import Settings

# Failures per email are only counted (never refused); the window is how long they are remembered.
EMAIL_FAILURE_WINDOW = "1000/15 minutes"
DELAY_BASE_SECONDS = 0.5


class Throttled(Exception):
    """Too many login attempts: answer 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def _key(value: str) -> str:
    """Keys are hashed: the limits storage (possibly Redis) never holds emails or addresses in clear."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        uri = settings.limits_storage_uri
        options = {"implementation": "redispy"} if uri.startswith("async+redis") else {}
        storage = storage_from_string(uri, **options)
        # Exact moving windows for the limits that refuse; a plain counter for an email's failures
        # (they only set the slowdown, and a moving window would keep a timestamp per failure).
        self._limiter = MovingWindowRateLimiter(storage)
        self._counter = FixedWindowRateLimiter(storage)
        self._per_address: RateLimitItem = parse(settings.login_limit_per_address)
        self._global: RateLimitItem = parse(settings.login_limit_global)
        self._email_failures: RateLimitItem = parse(EMAIL_FAILURE_WINDOW)
        self._free_failures = settings.login_failures_before_delay
        self._max_delay = settings.login_delay_max_seconds
        self._threads = settings.password_hash_threads
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after close()

    async def admit(self, email: str, address: str) -> float:
        """Raise Throttled when this address or the gateway is over its limit; else the seconds to
        wait before checking the password (0 until the email has failed `login_failures_before_delay`
        times recently)."""
        # Counted here, before the password check: counting only failures once they are known let a
        # burst through (every attempt queued for the check passed the test before any failed).
        if not await self._limiter.hit(self._per_address, "login-address", _key(address)):
            raise Throttled(await self._retry_after(self._per_address, "login-address", _key(address)))
        if not await self._limiter.hit(self._global, "login-all"):
            raise Throttled(await self._retry_after(self._global, "login-all"))
        return self.delay_for(await self.recent_failures(email))

    def delay_for(self, failures: int) -> float:
        excess = failures - self._free_failures
        if excess < 0:
            return 0.0
        return float(min(self._max_delay, DELAY_BASE_SECONDS * 2**min(excess, 16)))

    async def recent_failures(self, email: str) -> int:
        stats = await self._counter.get_window_stats(self._email_failures, "login-email", _key(email))
        return self._email_failures.amount - stats.remaining

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """The password check, on the login pool (never on the event loop, never more threads)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="password-check")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, verify_password, password_hash, password)

    async def failed(self, email: str) -> None:
        await self._counter.hit(self._email_failures, "login-email", _key(email))

    async def succeeded(self, email: str) -> None:
        await self._counter.clear(self._email_failures, "login-email", _key(email))

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def close(self) -> None:
        """Stop the pool's thread (the app's lifespan ends); a later check starts a new one."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
