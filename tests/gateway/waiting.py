"""Waiting for a condition in tests: the one way to wait (never a fixed sleep).

    value = await eventually(lambda: fake_zalo.delivered_texts(USER), what="the reply")
    await eventually(some_async_check, timeout=20, what="the case list")   # a check that awaits
    eventually_blocking(lambda: page_loaded(), what="the page")             # outside the event loop

The check runs until it returns something truthy, which is returned; after `timeout` seconds the
test fails naming `what`. The default timeouts are generous on purpose: a wait that succeeds returns
as soon as its condition holds, and a correct test must not fail on a loaded two-core CI machine.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from api.messaging.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
                     interval: float = 0.02, explain: Callable[[], str] | None = None) -> Any:
    """`explain`, if given, says what was still missing when the wait timed out (in the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f": {explain()}" if explain is not None else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        await asyncio.sleep(interval)


def eventually_blocking(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
                        interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def _idle(database: Any) -> bool:
    with database.session() as session:
        inbound = session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.status.in_((InboundStatus.PENDING, InboundStatus.PROCESSING))))
        outbound = session.scalar(select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))))
    return not inbound and not outbound


async def drained(app: Any, timeout: float = 20.0) -> None:
    """Wait until the app has nothing left to do: no user message waiting or in the pipeline, no
    reply waiting or being sent. "Nothing more happens" checks come after this, not after a sleep."""
    await eventually(lambda: _idle(app.state.context.database), timeout=timeout, what="the queues to drain")


def drained_blocking(app: Any, timeout: float = 20.0) -> None:
    """`drained()` for a test outside the event loop (the gateway serving in a thread)."""
    eventually_blocking(lambda: _idle(app.state.context.database), timeout=timeout, what="the queues to drain")
