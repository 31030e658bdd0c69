"""Deleting Rasa trackers from the gateway side: SQL deletes or Redis key deletes against the
tracker store Rasa is configured with (PURGE_TRACKER_STORE_URL, the same URL as TRACKER_STORE_URL).

Rasa's SQL store keeps one row per event in the table `events` (column `sender_id`); its Redis
store one key per conversation, `<prefix><sender id>` (prefix "tracker:" by default). The sender
id is the pseudonymous id the gateway gives Rasa, so nothing here sees a platform id. An empty URL
means Rasa keeps trackers in memory: nothing to delete from here (they end with the process).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import Engine, bindparam, create_engine, text

log = logging.getLogger(__name__)

SQL_EVENTS_TABLE = "events"


def _sql_url(url: str) -> str:
    """The gateway's driver (psycopg 3) for the spellings Rasa's side accepts."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        return f"postgresql+psycopg://{rest}"
    return url


class TrackerStore:
    """Counts and deletes the trackers of given sender ids; a no-op without a URL."""

    def __init__(self, url: str, redis_key_prefix: str = "tracker:") -> None:
        self.url = url.strip()
        self.kind = self._kind(self.url)
        self.redis_key_prefix = redis_key_prefix
        self._engine: Engine | None = None

    @staticmethod
    def _kind(url: str) -> str:
        scheme = urlsplit(url).scheme if url else ""
        if not scheme:
            return "none"
        if scheme in ("redis", "rediss"):
            return "redis"
        if scheme.startswith("postgres") or scheme.startswith("sqlite"):
            return "sql"
        raise ValueError(f"PURGE_TRACKER_STORE_URL: unsupported scheme {scheme!r}")

    @property
    def configured(self) -> bool:
        return self.kind != "none"

    def _sql(self) -> Engine:
        if self._engine is None:
            connect_args = {}
            schema = os.environ.get("POSTGRESQL_SCHEMA", "")  # as Rasa reads it
            if schema and self.url.startswith("postgres"):
                connect_args = {"options": f"-csearch_path={schema}"}
            self._engine = create_engine(_sql_url(self.url), connect_args=connect_args, pool_pre_ping=True)
        return self._engine

    def count(self, sender_ids: Sequence[str]) -> int:
        """How many stored events (SQL) or conversations (Redis) belong to these senders."""
        return self._run(sender_ids, delete=False)

    def delete(self, sender_ids: Sequence[str]) -> int:
        """Delete them; the number of events (SQL) or keys (Redis) removed."""
        return self._run(sender_ids, delete=True)

    def _run(self, sender_ids: Sequence[str], *, delete: bool) -> int:
        ids = sorted({sender for sender in sender_ids if sender})
        if not ids or not self.configured:
            return 0
        if self.kind == "redis":
            return self._redis(ids, delete=delete)
        verb = "DELETE" if delete else "SELECT count(*)"
        statement = text(f"{verb} FROM {SQL_EVENTS_TABLE} WHERE sender_id IN :ids").bindparams(
            bindparam("ids", expanding=True))
        with self._sql().begin() as connection:
            if not self._has_events_table(connection):
                return 0  # Rasa has not saved a tracker yet
            result = connection.execute(statement, {"ids": ids})
            return int(result.rowcount if delete else result.scalar() or 0)

    @staticmethod
    def _has_events_table(connection) -> bool:  # type: ignore[no-untyped-def]
        from sqlalchemy import inspect

        return bool(inspect(connection).has_table(SQL_EVENTS_TABLE))

    def _redis(self, ids: list[str], *, delete: bool) -> int:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            keys = [f"{self.redis_key_prefix}{sender}" for sender in ids]
            return int(client.delete(*keys) if delete else client.exists(*keys))
        finally:
            client.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
