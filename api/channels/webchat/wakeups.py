"""Waking a browser's long poll when its reply is stored, in this process and in the others.

GET /webchat/messages waits up to 25 s for a reply. Rather than reading the database every 250 ms
for every waiting browser, a waiter sleeps until the mailbox says a reply for its conversation was
stored (`notify`), or until a slow safety poll (`SAFETY_POLL_SECONDS`) in case a wake-up was lost.
The reply may be stored by the delivery worker of another gateway process: with a Redis URL
(`CASE_EVENTS_REDIS_URL`, the one the console events use) every wake-up is also published there
and each process wakes its own waiters. The key is the conversation's pseudonymous sender id,
never the browser's client id.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from api.tasks import cancel_and_wait

log = logging.getLogger(__name__)

SAFETY_POLL_SECONDS = 2.0
REDIS_CHANNEL = "gateway:webchat-wakeups"


class MailboxWakeups:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._relay: RedisWakeups | None = None

    async def wait(self, key: str, timeout: float) -> bool:
        """Sleep until `notify(key)` or `timeout` seconds; True when woken."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[key].add(future)
        try:
            await asyncio.wait_for(future, timeout=max(0.0, timeout))
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    del self._waiters[key]

    def notify(self, key: str) -> None:
        """A reply for `key` was stored: wake its waiters here, and in the other processes."""
        self.wake_local(key)
        if self._relay is not None:
            self._relay.publish(key)

    def wake_local(self, key: str) -> None:
        for future in self._waiters.pop(key, set()):
            if not future.done():
                future.set_result(None)

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    def attach(self, relay: RedisWakeups | None) -> None:
        self._relay = relay


class RedisWakeups:
    """Publishes this process's wake-ups and applies the other processes' (Redis pub/sub). If Redis
    cannot be reached, waiters still wake at the safety poll."""

    def __init__(self, url: str, wakeups: MailboxWakeups) -> None:
        self.url = url
        self.wakeups = wakeups
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> RedisWakeups:
        import redis.asyncio as redis_asyncio

        self._client = redis_asyncio.from_url(self.url)
        self._task = asyncio.create_task(self._listen(), name="webchat-wakeups")
        self.wakeups.attach(self)
        return self

    async def stop(self) -> None:
        self.wakeups.attach(None)
        await cancel_and_wait(self._task, ignore_errors=True)
        for task in list(self._pending):
            await cancel_and_wait(task, ignore_errors=True)
        if self._client is not None:
            await self._client.aclose()

    def publish(self, key: str) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(key))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, key: str) -> None:
        try:
            await self._client.publish(REDIS_CHANNEL, key)
        except Exception as exc:  # the other processes' waiters fall back to the safety poll
            log.warning("web chat wake-up not published (%s)", type(exc).__name__)

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._client.pubsub()
                await pubsub.subscribe(REDIS_CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message.get("data")
                        self.wakeups.wake_local(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("web chat wake-ups from Redis interrupted (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
