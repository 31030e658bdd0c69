"""Write transactions that may await inside them (pipeline hooks) without deadlocking SQLite.

The database layer is synchronous and runs on the event loop thread. On SQLite a transaction that
holds the write lock across an `await` would make any other write on the same thread block inside
SQLite's busy handler, so the loop could never get back to commit. The gate serialises such
transactions per process on SQLite; PostgreSQL uses row locks and needs no gate.

On SQLite the commit itself (the disk sync: about a millisecond, far more on a busy disk) runs in a
worker thread, so webhooks, Rasa calls and sends go on meanwhile; the gate stays held until the
commit is done, so writes keep their order and nothing sees a half-committed turn.
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
            with self.database.sessionmaker() as session, session.begin():
                self.database.begin_write(session)
                yield session
                session.flush()
                await _commit_driver_off_loop(session)
                # session.begin() now commits: the driver has nothing left to commit, so this only
                # ends the ORM transaction and runs after-commit callbacks on the loop's own thread.


async def _commit_driver_off_loop(session: Session) -> None:
    """COMMIT on the session's DB-API connection in a worker thread. Waits for it even when the caller
    is cancelled meanwhile (the connection must never be used by two threads at once)."""
    driver_connection = session.connection().connection.dbapi_connection
    assert driver_connection is not None
    commit = asyncio.get_running_loop().run_in_executor(None, driver_connection.commit)
    try:
        await asyncio.shield(commit)
    except asyncio.CancelledError:
        await asyncio.wait([commit])
        raise
