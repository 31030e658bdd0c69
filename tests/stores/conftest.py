"""Real PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379) for the store tests:
each test gets its own PostgreSQL schema and Redis key prefix and removes them afterwards."""
from __future__ import annotations

import os
import uuid
from typing import Iterator, List

import pytest

from rasa_stores.sealing import Sealer, generate_key

PG_URL = os.environ.get("STORES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("STORES_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_URL = f"{REDIS_BASE}/0"


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def sealer(key: str) -> Sealer:
    return Sealer.from_text(key)


@pytest.fixture
def pg_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh schema, made the search path of Rasa's SQL store through POSTGRESQL_SCHEMA."""
    psycopg2 = pytest.importorskip("psycopg2")
    schema = f"stores_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg2.connect(PG_URL, connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is needed at {PG_URL}: {error}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    monkeypatch.setenv("POSTGRESQL_SCHEMA", schema)
    try:
        yield schema
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def pg_rows(schema: str) -> List[tuple]:
    import psycopg2

    with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
        cur.execute(f'SELECT sender_id, type_name, intent_name, action_name, data FROM "{schema}".events ORDER BY id')
        rows = cur.fetchall()
    conn.close()
    return rows


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own (alphanumeric, as Rasa's Redis stores require)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {error}")
    prefix = f"storestest{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for db in (0, 1):
            other = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
            for name in other.scan_iter(match=f"{prefix}*"):
                other.delete(name)
            other.close()
        client.close()
