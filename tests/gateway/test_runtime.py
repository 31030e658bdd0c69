"""Process-level settings the gateway applies at start-up for steady latency."""
from __future__ import annotations

import gc

import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.asyncio


async def test_startup_freezes_the_heap_and_checkpoints_sqlite_in_the_background(app: FastAPI) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with app.router.lifespan_context(app):
        # Objects built at start-up are out of the collector's full passes.
        assert gc.get_freeze_count() > 0
        database = app.state.database
        if database.is_sqlite:
            assert database._checkpointer is not None
    assert database._checkpointer is None  # stopped with the app
