"""Shutdown of the workers' in-flight tasks."""
from __future__ import annotations

import asyncio


async def finish_in_flight(tasks: list[asyncio.Task[None]], grace_seconds: float) -> None:
    """Let running tasks finish for up to `grace_seconds`, then cancel the rest and wait for them."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
