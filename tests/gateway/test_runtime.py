"""Process-level settings the gateway applies at start-up for steady latency."""
from __future__ import annotations

import asyncio
import gc

import pytest
from fastapi import FastAPI

from api.tasks import cancel_and_wait

pytestmark = pytest.mark.asyncio


async def test_startup_freezes_the_heap_and_checkpoints_sqlite_in_the_background(app: FastAPI) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        # Objects built at start-up are out of the collector's full passes.
        assert gc.get_freeze_count() > 0
        database = app.state.context.database
        if database.is_sqlite:
            assert database._checkpointer is not None
    assert database._checkpointer is None  # stopped with the app


async def test_cancel_and_wait_unwinds_the_task_and_keeps_or_swallows_its_error() -> None:
    unwound: list[str] = []

    async def loop_forever() -> None:
        try:
            await asyncio.sleep(3600)  # a loop that never ends by itself
        finally:
            unwound.append("loop")

    task = asyncio.create_task(loop_forever())
    await asyncio.sleep(0)  # one turn of the loop: the task starts before it is cancelled
    await cancel_and_wait(task)
    assert task.cancelled() and unwound == ["loop"]

    async def failed() -> None:
        raise RuntimeError("broke earlier")

    broken = asyncio.create_task(failed())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await cancel_and_wait(broken)
    also_broken = asyncio.create_task(failed())
    await asyncio.sleep(0)
    await cancel_and_wait(also_broken, ignore_errors=True)
    await cancel_and_wait(None)
