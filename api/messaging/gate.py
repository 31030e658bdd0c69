"""Write transactions that may await inside them (pipeline hooks) without deadlocking SQLite.

The database layer is synchronous and runs on the event loop thread. On SQLite a transaction that
holds the write lock across an `await` would make any other write on the same thread block inside
SQLite's busy handler, so the loop could never get back to commit. The gate serialises such
transactions per process on SQLite; PostgreSQL uses row locks and needs no gate.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.orm import Session

from api.db.session import Database


class WriteGate:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock: asyncio.Lock | None = asyncio.Lock() if database.url.startswith("sqlite") else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """A committed-on-exit transaction; use this for every write made from async code."""
        if self._lock is None:
            with self.database.transaction() as session:
                yield session
            return
        async with self._lock:
            with self.database.transaction() as session:
                yield session
