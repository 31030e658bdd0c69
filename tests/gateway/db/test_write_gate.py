"""The SQLite write gate: all-or-nothing transactions in order, with the commit on the loop or in a thread."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db.gate import WriteGate
from api.db.session import AUTOCHECKPOINT_PAGES, Database
from tests.gateway.waiting import eventually_blocking


def _database(tmp_path: Path, commit_in_thread: bool) -> Database:
    database = Database(f"sqlite:///{tmp_path}/gate.db", commit_in_thread=commit_in_thread)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE entries (id INTEGER PRIMARY KEY, label TEXT)")
    return database


def _labels(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(text("SELECT label FROM entries ORDER BY id")))


@pytest.mark.asyncio
@pytest.mark.parametrize("commit_in_thread", [False, True])
async def test_concurrent_transactions_commit_whole_and_in_order(tmp_path: Path, commit_in_thread: bool) -> None:
    database = _database(tmp_path, commit_in_thread)
    gate = WriteGate(database)

    async def write(label: str, pause: float) -> None:
        async with gate.transaction() as session:
            session.execute(text("INSERT INTO entries (label) VALUES (:l)"), {"l": f"{label}-1"})
            await asyncio.sleep(pause)  # another task runs meanwhile and must wait for the gate
            session.execute(text("INSERT INTO entries (label) VALUES (:l)"), {"l": f"{label}-2"})

    await asyncio.gather(write("a", 0.05), write("b", 0.0), write("c", 0.01))
    assert _labels(database) == ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"]
    database.dispose()


@pytest.mark.asyncio
@pytest.mark.parametrize("commit_in_thread", [False, True])
async def test_a_failing_transaction_stores_nothing_and_frees_the_gate(tmp_path: Path, commit_in_thread: bool) -> None:
    database = _database(tmp_path, commit_in_thread)
    gate = WriteGate(database)
    with pytest.raises(RuntimeError):
        async with gate.transaction() as session:
            session.execute(text("INSERT INTO entries (label) VALUES ('lost')"))
            raise RuntimeError("hook failed")
    async with gate.transaction(urgent=True) as session:
        session.execute(text("INSERT INTO entries (label) VALUES ('kept')"))
    assert _labels(database) == ["kept"]
    database.dispose()


def test_background_checkpoints_keep_the_log_short_and_stop_cleanly(tmp_path: Path) -> None:
    database = _database(tmp_path, commit_in_thread=False)
    database.start_checkpointer(interval=0.05)
    checkpointer = database._checkpointer
    assert checkpointer is not None
    for n in range(300):  # one commit each, as the gateway does
        with database.transaction() as session:
            session.execute(text("INSERT INTO entries (label) VALUES (:l)"), {"l": "x" * 500 + str(n)})
    eventually_blocking(lambda: checkpointer.checkpoints > 0, what="a WAL checkpoint")
    database.dispose()  # stops the thread, which truncates the log on its way out
    assert not checkpointer._thread.is_alive()  # type: ignore[union-attr]
    wal = tmp_path / "gate.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert len(_labels(Database(f"sqlite:///{tmp_path}/gate.db"))) == 300


def test_automatic_checkpoints_only_as_a_safety_net(tmp_path: Path) -> None:
    database = _database(tmp_path, commit_in_thread=False)
    with database.session() as session:
        pages = session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()
    assert pages == AUTOCHECKPOINT_PAGES > 1000
    database.dispose()
