"""The SQLite write gate: all-or-nothing transactions in order, with the commit on the loop or in a thread."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db.session import Database
from api.messaging.gate import WriteGate


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
