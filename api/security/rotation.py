"""Key rotation for encryption at rest: every encrypted value in every table re-encrypted with the
newest key of DATA_ENCRYPTION_KEY, in short batches, so the older keys can then be removed.

Encrypted values are found by name, never by a list kept by hand: a column named `*_encrypted`
holds one Fernet token, and a JSON column may hold tokens under keys named `*_encrypted` (e.g. a
notification's payload). tests/gateway/security/test_rotate_keys.py checks that every place the
code encrypts something follows that naming.

    report = rotate_all(database, Base.metadata, keys)   # keys: newest first
    problems = unreadable_with_newest(database, Base.metadata, keys[0])
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Column, MetaData, Table, and_, select, update

from api.db.session import Database

ENCRYPTED_SUFFIX = "_encrypted"
DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class EncryptedTable:
    """One table's encrypted columns (plain tokens) and JSON columns that may hold tokens."""

    table: Table
    token_columns: tuple[Column[Any], ...]
    json_columns: tuple[Column[Any], ...]

    @property
    def key_column(self) -> Column[Any]:
        return next(iter(self.table.primary_key.columns))


@dataclass
class RotationReport:
    rotated: dict[str, int] = field(default_factory=dict)  # "table.column" → values re-encrypted
    unreadable: dict[str, int] = field(default_factory=dict)  # values no configured key opens

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def encrypted_tables(metadata: MetaData) -> list[EncryptedTable]:
    """Every table with a `*_encrypted` column or a JSON column (which may hold `*_encrypted` keys)."""
    found = []
    for table in metadata.sorted_tables:
        tokens = tuple(c for c in table.columns if c.name.endswith(ENCRYPTED_SUFFIX))
        documents = tuple(c for c in table.columns if isinstance(c.type, JSON))
        if tokens or documents:
            if len(table.primary_key.columns) != 1:
                raise ValueError(f"{table.name}: key rotation needs a one-column primary key")
            found.append(EncryptedTable(table, tokens, documents))
    return found


def fernets(keys: list[str]) -> tuple[MultiFernet, Fernet]:
    """All keys (decrypt with any, encrypt with the first) and the newest key alone."""
    parsed = [Fernet(key.encode("ascii")) for key in keys]
    return MultiFernet(parsed), parsed[0]


def _rotate_document(value: Any, rotate: Any, where: str, report: RotationReport) -> Any:
    """The JSON value with every token under a `*_encrypted` key re-encrypted."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if str(key).endswith(ENCRYPTED_SUFFIX) and isinstance(item, str) and item:
                out[key] = _rotate_token(item, rotate, f"{where}.{key}", report)
            else:
                out[key] = _rotate_document(item, rotate, where, report)
        return out
    if isinstance(value, list):
        return [_rotate_document(item, rotate, where, report) for item in value]
    return value


def _rotate_token(token: str, rotate: Any, where: str, report: RotationReport) -> str:
    try:
        rotated: str = rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        report.unreadable[where] = report.unreadable.get(where, 0) + 1
        return token
    report.rotated[where] = report.rotated.get(where, 0) + 1
    return rotated


def _batches(database: Database, spec: EncryptedTable, batch_size: int) -> Iterator[tuple[Any, list[Any]]]:
    """(session, rows) per batch, keyset-paged by primary key, each batch one transaction."""
    key = spec.key_column
    last: Any = None
    while True:
        with database.transaction() as session:
            query = select(key, *spec.token_columns, *spec.json_columns).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            rows = list(session.execute(query.with_for_update()))
            if not rows:
                return
            yield session, rows
            last = rows[-1][0]


def rotate_table(database: Database, spec: EncryptedTable, multi: MultiFernet, report: RotationReport,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    table, key = spec.table, spec.key_column
    for session, rows in _batches(database, spec, batch_size):
        for row in rows:
            values: dict[str, Any] = {}
            unchanged = []
            for column in spec.token_columns:
                token = row._mapping[column.name]
                if token:
                    values[column.name] = _rotate_token(token, multi.rotate, f"{table.name}.{column.name}", report)
                    # Written only if nobody changed it meanwhile (a refreshed Zalo token is newer).
                    unchanged.append(column == token)
            for column in spec.json_columns:
                document = row._mapping[column.name]
                rotated = _rotate_document(document, multi.rotate, f"{table.name}.{column.name}", report)
                if rotated != document:
                    values[column.name] = rotated
            values = {name: value for name, value in values.items() if value != row._mapping[name]}
            if values:
                session.execute(update(table).where(and_(key == row[0], *unchanged)).values(**values))


def rotate_all(database: Database, metadata: MetaData, keys: list[str],
               batch_size: int = DEFAULT_BATCH_SIZE) -> RotationReport:
    """Re-encrypt every encrypted value with keys[0] (keys: newest first, any may open a value)."""
    multi, _newest = fernets(keys)
    report = RotationReport()
    for spec in encrypted_tables(metadata):
        rotate_table(database, spec, multi, report, batch_size)
    return report


def unreadable_with_newest(database: Database, metadata: MetaData, newest_key: str,
                           batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, int]:
    """Where values remain that the newest key alone cannot open ("table.column" → count)."""
    _multi, newest = fernets([newest_key])

    def opens(token: bytes) -> bytes:
        newest.decrypt(token)  # raises InvalidToken when the newest key cannot open it
        return token

    report = RotationReport()
    for spec in encrypted_tables(metadata):
        key = spec.key_column
        last: Any = None
        while True:
            with database.session() as session:
                query = select(key, *spec.token_columns, *spec.json_columns).order_by(key).limit(batch_size)
                rows = list(session.execute(query if last is None else query.where(key > last)))
            if not rows:
                break
            last = rows[-1][0]
            for row in rows:
                for column in spec.token_columns:
                    if row._mapping[column.name]:
                        _rotate_token(row._mapping[column.name], opens, f"{spec.table.name}.{column.name}", report)
                for column in spec.json_columns:
                    _rotate_document(row._mapping[column.name], opens, f"{spec.table.name}.{column.name}", report)
    return report.unreadable
