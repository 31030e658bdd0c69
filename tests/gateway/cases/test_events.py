"""Console events: published only after commit, and across gateway processes through Redis."""
from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import redis.asyncio as redis_asyncio

import api.cases.routes as case_routes
from api.cases.events import EventBroker, RedisRelay
from tests.gateway.cases.sse import EventReader
from tests.gateway.live import live_gateway
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login, staff_settings
from tests.gateway.waiting import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.asyncio


async def _next(broker: EventBroker, roles: frozenset[str], ready: asyncio.Event) -> dict:
    subscription = broker.subscribe(roles)
    first = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0)  # one turn of the loop: the subscription registers before we say ready
    ready.set()
    try:
        return await asyncio.wait_for(first, timeout=5)
    finally:
        await subscription.aclose()


async def _subscribers(channel: str, count: int) -> bool:
    client = redis_asyncio.from_url(REDIS_URL)
    try:
        return dict(await client.pubsub_numsub(channel)).get(channel.encode()) == count
    finally:
        await client.aclose()


async def test_events_cross_processes_through_redis_and_respect_roles() -> None:
    channel = f"test-case-events-{uuid.uuid4().hex}"
    process_a, process_b = EventBroker(), EventBroker()
    relays = [await RedisRelay(REDIS_URL, broker, channel).start() for broker in (process_a, process_b)]
    try:
        await eventually(lambda: _subscribers(channel, 2), what="both relays subscribed")
        ready = asyncio.Event()
        counselor = asyncio.create_task(_next(process_b, frozenset({"counselor"}), ready))
        await ready.wait()
        staff_ready = asyncio.Event()
        staff = asyncio.create_task(_next(process_b, frozenset({"campaign_staff"}), staff_ready))
        await staff_ready.wait()
        process_a.publish({"type": "case_opened", "case": {"id": 7}}, frozenset({"counselor", "admin"}))
        assert (await counselor)["case"]["id"] == 7  # written in process A, seen on a console of process B
        with pytest.raises(asyncio.TimeoutError):
            await staff  # campaign staff never receive case events
    finally:
        for relay in relays:
            await relay.stop()


async def test_without_redis_events_still_reach_local_consoles() -> None:
    broker = EventBroker()
    relay = await RedisRelay("redis://127.0.0.1:1/0", broker, "unused").start()  # nothing listens there
    try:
        ready = asyncio.Event()
        waiting = asyncio.create_task(_next(broker, frozenset({"counselor"}), ready))
        await ready.wait()
        broker.publish({"type": "case_opened", "case": {"id": 1}}, frozenset({"counselor"}))
        assert (await waiting)["case"]["id"] == 1
    finally:
        await relay.stop()


async def test_event_stream_ends_when_the_account_is_locked(settings, fake_telegram, fake_rasa,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_routes, "HEARTBEAT_SECONDS", 0.3)
    with live_gateway(staff_settings(settings)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            counselor = await create_staff(http, admin, "khoa@example.vn")
            me = (await http.get("/api/v1/auth/me", headers=counselor)).json()
            async with EventReader(gateway.url, counselor) as events:
                await eventually(lambda: events.pings >= 1, what="a heartbeat while signed in")
                assert not events.of_type("signed_out")
                locked = await http.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"active": False})
                assert locked.status_code == 200
                await eventually(lambda: events.of_type("signed_out"), what="stream closed")
