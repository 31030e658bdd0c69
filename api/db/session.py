"""Engine and session factory; created lazily so importing opens no connection."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.db.checkpoint import WalCheckpointer

# SQLite's automatic checkpoint threshold in pages (default 1000, ~4 MB).
AUTOCHECKPOINT_PAGES = 10_000


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """`sqlite_synchronous`: FULL survives power loss; NORMAL (with WAL) survives process crashes and
    commits about ten times faster. PostgreSQL ignores it."""
    if sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError("sqlite_synchronous must be FULL, NORMAL or EXTRA")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous.upper()}")
            # Checkpoints run in a background thread (api/db/checkpoint.py); this larger threshold is
            # only the safety net for when that thread is not running (CLI commands, tests).
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """Owns one engine and its session factory for the process."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", commit_in_thread: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # SQLite: run the gate's commits (the disk sync) in a worker thread (see api/messaging/gate.py).
        self.commit_in_thread = commit_in_thread
        self._checkpointer: WalCheckpointer | None = None
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessionmaker() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessionmaker.begin() as session:
            self.begin_write(session)
            yield session

    def begin_write(self, session: Session) -> None:
        """Start the session's transaction as one write transaction on the database."""
        if self.is_sqlite:
            # The sqlite3 driver opens a transaction only before its first INSERT/UPDATE/DELETE, so
            # a SAVEPOINT issued earlier (begin_nested) started one of its own and its RELEASE
            # committed on the spot: one transaction became several commits, each a disk sync,
            # and was no longer all-or-nothing. An explicit BEGIN makes the whole block one
            # transaction; IMMEDIATE takes the write lock now (waiting busy_timeout for another
            # process), so a read-then-write never fails on a snapshot another process changed.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")

    def start_checkpointer(self, interval: float = 1.0) -> None:
        """SQLite files: checkpoint the WAL from a background thread (see api/db/checkpoint.py)."""
        path = self.url.split("///", 1)[-1] if self.is_sqlite else ""
        if path and path != ":memory:" and self._checkpointer is None:
            self._checkpointer = WalCheckpointer(path, interval).start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()
