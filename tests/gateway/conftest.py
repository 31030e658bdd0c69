"""Shared gateway fixtures: a real database per test (SQLite and PostgreSQL), settings, fake
Telegram and Rasa servers on 127.0.0.1, and the app with its lifespan running.

Reuse: `database` (api.db.session.Database, migrated to heads), `settings`, `fake_telegram`,
`fake_rasa`, `fake_zalo`, `app` (not started), `client` (httpx.AsyncClient with the app started),
`chromium` (the system Chromium, headless, for the browser tests). A folder's own fixtures live in
its conftest.py.

Browser tests run on SQLite only: what differs between the databases is tested through the API on
both, and a browser test on PostgreSQL would repeat its screens at twice the cost. They are left out
at collection, before a PostgreSQL database is made for them.
"""
from __future__ import annotations

import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet
from fastapi import FastAPI
from playwright.sync_api import Browser, sync_playwright

from api.db.migrate import upgrade_to_heads
from api.db.session import Database
from api.main import create_app
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.server import FakeService
from tests.gateway.fakes.telegram import TELEGRAM_TOKEN, FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET
from tests.gateway.fakes.zalo import FakeZalo

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DATABASE_BACKENDS = ["sqlite"] + ([] if os.environ.get("NO_POSTGRES") == "1" else ["postgresql"])


def _create_postgres_database() -> tuple[str, str]:
    import psycopg

    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _heap_unfrozen_after_each_test() -> Iterator[None]:
    """Each app start freezes the heap (`freeze_startup_heap`), as a process does once; in a test
    process that starts hundreds of apps, unfreezing after each lets their cycles be collected."""
    yield
    gc.unfreeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    repeated = [item for item in items if _browser_test_on_postgres(item)]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if item not in repeated]


def _browser_test_on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (callspec is not None and callspec.params.get("database_url") == "postgresql"
            and "chromium" in getattr(item, "fixturenames", ()))


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL: a SQLite file or a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        upgrade_to_heads(url)
        yield url
        return
    name, url = _create_postgres_database()
    try:
        upgrade_to_heads(url)
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def postgres_admin_dsn() -> str:
    """Where to create, drop or lock the PostgreSQL test databases."""
    return POSTGRES_ADMIN_DSN


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def _served(server: FakeService) -> Iterator[Any]:
    server.start()
    yield server
    server.stop()


def _fresh(server: Any) -> Iterator[Any]:
    """The session's server with nothing recorded and no failure planned, before and after the test."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    yield from _served(FakeTelegram(TELEGRAM_TOKEN))


@pytest.fixture(scope="session")
def fake_rasa_server() -> Iterator[FakeRasa]:
    yield from _served(FakeRasa())


@pytest.fixture(scope="session")
def fake_zalo_server() -> Iterator[FakeZalo]:
    yield from _served(FakeZalo())


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> Iterator[FakeTelegram]:
    yield from _fresh(fake_telegram_server)


@pytest.fixture
def fake_rasa(fake_rasa_server: FakeRasa) -> Iterator[FakeRasa]:
    yield from _fresh(fake_rasa_server)


@pytest.fixture
def fake_zalo(fake_zalo_server: FakeZalo) -> Iterator[FakeZalo]:
    yield from _fresh(fake_zalo_server)


@pytest.fixture
def settings(database_url: str, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> Settings:
    """Settings for one test: fast retries, fake servers, real keys."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database_url=database_url,
        rasa_url=fake_rasa.url,
        rasa_timeout_seconds=3.0,
        id_hmac_secret="test-id-secret",
        data_encryption_key=Fernet.generate_key().decode(),
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_base_url=fake_telegram.url,
        run_migrations_on_start=True,
        worker_poll_seconds=0.1,
        worker_lease_seconds=30.0,
        inbound_retry_base_seconds=0.05,
        inbound_retry_max_seconds=0.3,
        outbox_retry_base_seconds=0.05,
        outbox_retry_max_seconds=0.3,
        delivery_global_rate_per_second=1000.0,
        login_limit_global="100/second",  # tests sign several staff in at once; test_login_throttle checks the limit
        delivery_per_recipient_rate_per_second=100.0,
        delivery_per_recipient_burst=10,
        outbox_max_attempts=4,
        shutdown_grace_seconds=5.0,
        learned_risk_when_rasa_down=False,  # loading it costs seconds per app: cases/test_learned_risk.py turns it on
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (migrations, workers, Telegram) running, called in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless (the browser tests are skipped where it is not installed)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("system Chromium not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
