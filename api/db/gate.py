"""Write transactions that may await inside them (pipeline hooks) without deadlocking SQLite.

The database layer is synchronous and runs on the event loop thread. On SQLite a transaction that
holds the write lock across an `await` would make any other write on the same thread block inside
SQLite's busy handler, so the loop could never get back to commit. The gate serialises such
transactions per process on SQLite; PostgreSQL uses row locks and needs no gate.

On SQLite the commit (the disk sync) runs on the loop's thread by default: on a local SSD it takes
~0.2 ms, less than handing it to a worker thread and waiting for that thread to get the interpreter
back (measured with the gateway benchmark at 30 msg/s: webhook ack p99 45-55 ms with the hand-over,
12-23 ms without). On a slow disk (network storage, a busy spinning disk) set
SQLITE_COMMIT_IN_THREAD=true: the sync then runs in a worker thread so Rasa calls and sends go on
meanwhile. Either way the gate stays held until the commit is done, so writes keep their order and
nothing sees a half-committed turn.

Webhooks take the gate with `urgent=True`: storing a user's message (the platform waits for our 200)
goes before the workers' next transaction, which only delays a reply by a millisecond or two.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.orm import Session

from api.db.session import Database


class PriorityLock:
    """An asyncio lock handed over first-come first-served, urgent waiters before the others; after
    MAX_URGENT_IN_A_ROW urgent hand-overs a waiting normal one gets its turn (no starvation)."""

    MAX_URGENT_IN_A_ROW = 8

    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()
        self._urgent_in_a_row = 0

    def locked(self) -> bool:
        return self._locked

    async def acquire(self, urgent: bool = False) -> None:
        if not self._locked and not self._urgent and not self._normal:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the lock just as we were cancelled: pass it on
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        while self._urgent or self._normal:
            take_urgent = bool(self._urgent) and (
                not self._normal or self._urgent_in_a_row < self.MAX_URGENT_IN_A_ROW)
            waiter = (self._urgent if take_urgent else self._normal).popleft()
            if waiter.done():
                continue  # cancelled while waiting
            self._urgent_in_a_row = self._urgent_in_a_row + 1 if take_urgent else 0
            waiter.set_result(None)  # the lock passes straight to it and stays locked
            return
        self._locked = False


class WriteGate:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock: PriorityLock | None = PriorityLock() if database.url.startswith("sqlite") else None

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[Session]:
        """A committed-on-exit transaction; use this for every write made from async code.
        `urgent`: a webhook storing what a user sent, served before the workers' transactions."""
        if self._lock is None:
            with self.database.transaction() as session:
                yield session
            return
        await self._lock.acquire(urgent)
        try:
            with self.database.sessionmaker() as session, session.begin():
                self.database.begin_write(session)
                yield session
                session.flush()
                if self.database.commit_in_thread:
                    await _commit_driver_off_loop(session)
                    # session.begin() now commits: the driver has nothing left to commit, so this
                    # only ends the ORM transaction and runs after-commit callbacks on this thread.
        finally:
            self._lock.release()


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
