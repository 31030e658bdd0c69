"""Background tasks of the gateway: one helper for every periodic loop, and their shutdown.

`PeriodicTask` runs a step now and then every `interval` seconds (or at once when woken) until it
is stopped; a failing step is logged and the next round retries. The Zalo token check, the web chat
purge, the broadcast scheduler and the case notifier are all PeriodicTasks. The workers' in-flight
tasks end with `finish_in_flight`.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def finish_in_flight(tasks: list[asyncio.Task[None]], grace_seconds: float) -> None:
    """Let running tasks finish for up to `grace_seconds`, then cancel the rest and wait for them."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def cancel_and_wait(task: asyncio.Task[Any] | None, *, ignore_errors: bool = False) -> None:
    """Cancel a service's background task and wait until it has unwound. `ignore_errors`: also
    swallow an error the task ended with (the service is stopping anyway)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        if not ignore_errors:
            raise


class ShutdownFlag:
    """Raised once when the process is asked to stop, before open connections are closed: long
    responses (the consoles' event streams) watch it and end, so the server can exit in time.
    `request()` is safe from a signal handler or another thread."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Remember the running loop and lower the flag (called when the app starts)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def request(self) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._event.set)

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


class PeriodicTask:
    """`step()` now, then every `interval` seconds, or sooner after `wake()`, until `stop()`.

    `on_error(exc)` reports a failed step (default: logged with its traceback under the task's
    name); the loop goes on either way."""

    def __init__(self, name: str, step: Callable[[], Awaitable[Any]], interval: float, *,
                 on_error: Callable[[Exception], None] | None = None) -> None:
        self.name = name
        self.interval = interval
        self._step = step
        self._on_error = on_error or self._log_error
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> PeriodicTask:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=self.name)
        return self

    def wake(self) -> None:
        """Run the next step now; safe to call from any thread (e.g. an after-commit callback)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        await cancel_and_wait(self._task, ignore_errors=True)
        self._task = None

    @property
    def alive(self) -> bool:
        """Started and its loop still running (readiness)."""
        return self._task is not None and not self._task.done()

    def _log_error(self, exc: Exception) -> None:
        log.error("%s: step failed", self.name, exc_info=exc)

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._on_error(exc)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
