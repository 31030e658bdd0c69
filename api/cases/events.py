"""Live events for the counselor console (server-sent events), published only after commit.

One in-process broker: the workers that write cases run in the same process as the SSE route.
Publishing is thread-safe, so synchronous database code may call it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator
from typing import Any

from sqlalchemy.orm import Session

from api.db.after_commit import call_after_commit
from api.tasks import cancel_and_wait

_QUEUE_LIMIT = 1000
log = logging.getLogger(__name__)


class EventBroker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[asyncio.Queue[dict[str, Any]], tuple[asyncio.AbstractEventLoop, frozenset[str]]] = {}
        # Set when several gateway processes share consoles: events then travel through Redis.
        self.relay: RedisRelay | None = None

    def publish(self, payload: dict[str, Any], roles: frozenset[str] | None = None) -> None:
        """Send to every subscriber (optionally only those with one of `roles`), in every process."""
        if self.relay is not None and self.relay.forward(payload, roles):
            return
        self.deliver_local(payload, roles)

    def deliver_local(self, payload: dict[str, Any], roles: frozenset[str] | None = None) -> None:
        with self._lock:
            targets = list(self._subscribers.items())
        for queue, (loop, subscriber_roles) in targets:
            if roles is not None and not roles & subscriber_roles:
                continue
            try:
                loop.call_soon_threadsafe(_offer, queue, payload)
            except RuntimeError:  # loop closed: the subscriber is gone
                self._drop(queue)

    def _drop(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers.pop(queue, None)

    def open(self, roles: frozenset[str]) -> Subscription:
        """Register a subscriber now (call from the event loop); events from here on are kept."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE_LIMIT)
        with self._lock:
            self._subscribers[queue] = (asyncio.get_running_loop(), roles)
        return Subscription(self, queue)

    async def subscribe(self, roles: frozenset[str]) -> AsyncGenerator[dict[str, Any], None]:
        subscription = self.open(roles)
        try:
            while True:
                yield await subscription.get()
        finally:
            subscription.close()


class Subscription:
    def __init__(self, broker: EventBroker, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._broker = broker
        self._queue = queue

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    def close(self) -> None:
        self._broker._drop(self._queue)


def _offer(queue: asyncio.Queue[dict[str, Any]], payload: dict[str, Any]) -> None:
    if queue.full():  # a stalled console: drop the oldest, it reloads the queue on reconnect anyway
        queue.get_nowait()
    queue.put_nowait(payload)


def publish_after_commit(session: Session, broker: EventBroker | None, payload: dict[str, Any],
                         roles: frozenset[str] | None = None) -> None:
    """Publish once this session's transaction commits; nothing is published on rollback."""
    if broker is not None:
        call_after_commit(session, lambda: broker.publish(payload, roles))


def format_sse(payload: dict[str, Any]) -> str:
    return f"event: {payload.get('type', 'message')}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


class RedisRelay:
    """Fans console events out to every gateway process through Redis pub/sub.

    If Redis cannot be reached the event is still delivered to this process's consoles (and the
    Telegram alert goes out regardless), so an outage degrades to single-process behaviour.
    """

    CHANNEL = "gateway:case-events"

    def __init__(self, url: str, broker: EventBroker, channel: str = CHANNEL) -> None:
        self.url = url
        self.broker = broker
        self.channel = channel
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> RedisRelay:
        import redis.asyncio as redis_asyncio

        self._loop = asyncio.get_running_loop()
        self._client = redis_asyncio.from_url(self.url)
        self._task = asyncio.create_task(self._listen(), name="case-events-relay")
        self.broker.relay = self
        return self

    async def stop(self) -> None:
        self.broker.relay = None
        await cancel_and_wait(self._task, ignore_errors=True)
        if self._client is not None:
            await self._client.aclose()

    def forward(self, payload: dict[str, Any], roles: frozenset[str] | None) -> bool:
        """Queue the event for Redis; False when the relay is not running (deliver locally)."""
        if self._loop is None or self._loop.is_closed() or self._task is None or self._task.done():
            return False
        message = json.dumps({"payload": payload, "roles": sorted(roles) if roles is not None else None},
                             ensure_ascii=False)
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._send(message, payload, roles)))  # type: ignore[union-attr]
        return True

    async def _send(self, message: str, payload: dict[str, Any], roles: frozenset[str] | None) -> None:
        try:
            await self._client.publish(self.channel, message)
        except Exception as exc:
            log.warning("redis relay unavailable (%s): delivering to this process only", type(exc).__name__)
            self.broker.deliver_local(payload, roles)

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._client.pubsub()
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = json.loads(message["data"])
                    roles = frozenset(data["roles"]) if data.get("roles") is not None else None
                    self.broker.deliver_local(data["payload"], roles)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis relay subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
