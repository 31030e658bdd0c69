"""/health/live and /health/ready: which part fails is named, and a dead worker makes the gateway unready."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from api.context import AppContext
from api.db.session import Database
from tests.gateway.fakes.rasa import FakeRasa

pytestmark = pytest.mark.asyncio


def _context(client: httpx.AsyncClient) -> AppContext:
    return client._transport.app.state.context  # type: ignore[attr-defined,no-any-return]


async def test_live_and_ready_when_everything_runs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "alive"}
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert body["database"] == "up" and body["rasa"] == "up"
    # Both workers and every PeriodicTask of the started services are watched.
    assert {"inbound", "delivery", "case-notifier", "webchat-purge", "broadcast-scheduler"} <= set(body["workers"])
    assert set(body["workers"].values()) == {"alive"}


async def test_rasa_down_is_named(client: httpx.AsyncClient, fake_rasa: FakeRasa) -> None:
    fake_rasa.down = True
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["rasa"]
    assert (await client.get("/health/live")).status_code == 200


async def test_rasa_down_keeps_ready_when_not_required(client: httpx.AsyncClient, fake_rasa: FakeRasa) -> None:
    context = _context(client)
    context.settings = context.settings.model_copy(update={"ready_requires_rasa": False})
    fake_rasa.down = True
    response = await client.get("/health/ready")
    assert response.status_code == 200 and response.json()["rasa"] == "down"


async def test_database_down_is_named(client: httpx.AsyncClient) -> None:
    context = _context(client)
    real = context.database
    # Readiness asks a database that refuses connections (nothing listens on port 1).
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    context.database = broken
    try:
        response = await client.get("/health/ready")
    finally:
        context.database = real
        broken.dispose()
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"] and response.json()["database"] == "down"
    assert (await client.get("/health/ready")).status_code == 200


async def test_a_dead_worker_is_named(client: httpx.AsyncClient) -> None:
    context = _context(client)
    loop_task = context.delivery_worker._loop_task
    assert loop_task is not None
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop_task
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker:delivery"]
    assert response.json()["workers"]["delivery"] == "dead"


async def test_a_dead_periodic_task_is_named(client: httpx.AsyncClient) -> None:
    notifier = _context(client).case_notifier
    task = notifier._task._task
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker:case-notifier"]


async def test_not_ready_once_shutdown_is_requested(client: httpx.AsyncClient) -> None:
    context = _context(client)
    context.shutdown.request()
    await asyncio.wait_for(context.shutdown.wait(), 2)
    response = await client.get("/health/ready")
    assert response.status_code == 503 and response.json()["failing"] == ["shutdown"]
