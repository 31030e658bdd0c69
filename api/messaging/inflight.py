"""Shutdown of background tasks: the workers' in-flight tasks and the services' loops."""
from __future__ import annotations

import asyncio
from typing import Any


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
