"""Counting and deleting a set of rows together with every row that depends on them.

Dependents are found in the schema itself (Base.metadata): every table with a foreign key that
deletes along with its parent (ON DELETE CASCADE). So a table another feature adds later (a
referral, a note) is counted and erased with the conversation or case it belongs to, without
this module knowing it. Foreign keys that set NULL are left to the database.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import ColumnElement, ForeignKey, Table, delete, func, select
from sqlalchemy.orm import Session

from api.db.base import Base


def cascading_children(table: Table) -> list[tuple[Table, ForeignKey]]:
    """(child table, its foreign key to `table`) for every ON DELETE CASCADE key. The app (and the
    command line) import every model module first (api/models.py), so all tables are known."""
    return [(child, key) for child in Base.metadata.sorted_tables for key in child.foreign_keys
            if key.column.table is table and (key.ondelete or "").upper() == "CASCADE"]


def walk(session: Session, table: Table, condition: ColumnElement[bool], counts: Counter[str], *,
         execute: bool) -> None:
    """Count (and with `execute`, delete) the rows of `table` matching `condition` and, first, the
    rows depending on them, table by table. Counts go into `counts` by table name."""
    matched = session.scalar(select(func.count()).select_from(table).where(condition)) or 0
    if not matched:
        return
    for child, key in cascading_children(table):
        parent_keys = select(key.column).where(condition)
        walk(session, child, key.parent.in_(parent_keys), counts, execute=execute)
    counts[table.name] += matched
    if execute:
        session.execute(delete(table).where(condition))


def table(name: str) -> Table:
    return Base.metadata.tables[name]
