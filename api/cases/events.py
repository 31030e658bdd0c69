"""Live events for the counselor console (server-sent events), published only after commit.

One in-process broker: the workers that write cases run in the same process as the SSE route.
Publishing is thread-safe, so synchronous database code may call it.
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_QUEUE_LIMIT = 1000


class EventBroker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[asyncio.Queue[dict[str, Any]], tuple[asyncio.AbstractEventLoop, frozenset[str]]] = {}

    def publish(self, payload: dict[str, Any], roles: frozenset[str] | None = None) -> None:
        """Send to every subscriber (optionally only those with one of `roles`)."""
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

    async def subscribe(self, roles: frozenset[str]) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE_LIMIT)
        with self._lock:
            self._subscribers[queue] = (asyncio.get_running_loop(), roles)
        try:
            while True:
                yield await queue.get()
        finally:
            self._drop(queue)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _offer(queue: asyncio.Queue[dict[str, Any]], payload: dict[str, Any]) -> None:
    if queue.full():  # a stalled console: drop the oldest, it reloads the queue on reconnect anyway
        queue.get_nowait()
    queue.put_nowait(payload)


_PENDING_KEY = "case_events_after_commit"


def call_after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's outer transaction commits; never on rollback."""
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _run_pending)
        event.listen(session, "after_transaction_end", _drop_pending)
    pending.append(callback)


def _run_pending(session: Session) -> None:
    callbacks = session.info.get(_PENDING_KEY) or []
    session.info[_PENDING_KEY] = []
    for callback in callbacks:
        callback()


def _drop_pending(session: Session, transaction: Any) -> None:
    # The outer transaction ended without our commit hook running (a rollback): forget the
    # callbacks so they never fire with the session's next commit.
    if transaction.parent is None and transaction.nested is False:
        session.info[_PENDING_KEY] = []


def publish_after_commit(session: Session, broker: EventBroker | None, payload: dict[str, Any],
                         roles: frozenset[str] | None = None) -> None:
    """Publish once this session's transaction commits; nothing is published on rollback."""
    if broker is not None:
        call_after_commit(session, lambda: broker.publish(payload, roles))


def format_sse(payload: dict[str, Any]) -> str:
    return f"event: {payload.get('type', 'message')}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
