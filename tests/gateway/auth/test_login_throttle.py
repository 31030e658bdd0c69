"""Login throttling: a flood from one address gets 429, the gateway-wide limit holds, an email's
failures slow further attempts but never lock out its owner, the password check runs on its own
pool, and the counters are shared through Redis when it is configured."""
from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.auth import throttle as throttle_module
from api.auth.throttle import LoginThrottle
from api.main import create_app
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, staff_settings

pytestmark = pytest.mark.asyncio

ATTACKER = ("203.0.113.9", 40000)
COUNSELOR_DESK = ("198.51.100.7", 50000)
Clients = Callable[[tuple[str, int]], httpx.AsyncClient]


@asynccontextmanager
async def running(settings: Settings, **overrides: Any) -> AsyncIterator[tuple[FastAPI, Clients]]:
    """The app started, and a way to call it from a given client address."""
    values = {"login_limit_per_address": "5/5 minutes", "login_limit_global": "1000/second",
              "login_failures_before_delay": 3, "login_delay_max_seconds": 0.05, **overrides}
    app = create_app(staff_settings(settings, **values))
    opened: list[httpx.AsyncClient] = []

    def client_from(address: tuple[str, int]) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=address)
        opened.append(httpx.AsyncClient(transport=transport, base_url="http://gateway.test"))
        return opened[-1]

    async with app.router.lifespan_context(app):
        try:
            yield app, client_from
        finally:
            for http in opened:
                await http.aclose()


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_a_flood_from_one_address_gets_429_and_the_real_user_still_signs_in(settings: Settings) -> None:
    async with running(settings) as (_, client_from):
        attacker = client_from(ATTACKER)
        answers = [(await _login(attacker, f"made-up-{i}@example.vn", "guess-password-1")).status_code
                   for i in range(5)]
        assert answers == [401] * 5
        refused = await _login(attacker, "made-up-6@example.vn", "guess-password-1")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        # Even the right password is refused from the flooding address...
        assert (await _login(attacker, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 429
        # ...but not from the counselor's own.
        assert (await _login(client_from(COUNSELOR_DESK), ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_a_concurrent_burst_from_one_address_cannot_slip_past_the_limit(settings: Settings) -> None:
    """Attempts count when they arrive, not when their password check ends."""
    async with running(settings) as (_, client_from):
        attacker = client_from(ATTACKER)
        answers = await asyncio.gather(*[_login(attacker, f"burst-{i}@example.vn", "guess-password-1")
                                         for i in range(12)])
        assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 7


async def test_failures_on_an_email_slow_it_down_but_never_lock_out_the_right_password(settings: Settings) -> None:
    async with running(settings) as (app, client_from):
        throttle: LoginThrottle = app.state.context.login_throttle
        for i in range(12):  # more than the old lockout (10), from addresses under their own limit
            wrong = await _login(client_from((f"203.0.113.{i + 10}", 40000)), ADMIN_EMAIL, "wrong-password-1")
            assert wrong.status_code == 401
        assert await throttle.recent_failures(ADMIN_EMAIL) == 12
        assert throttle.delay_for(12) == pytest.approx(0.05)  # slowed, capped by login_delay_max_seconds
        assert throttle.delay_for(2) == 0.0
        ok = await _login(client_from(COUNSELOR_DESK), ADMIN_EMAIL, ADMIN_PASSWORD)
        assert ok.status_code == 200
        assert await throttle.recent_failures(ADMIN_EMAIL) == 0  # a success starts the count afresh


async def test_the_gateway_wide_limit_answers_429(settings: Settings) -> None:
    async with running(settings, login_limit_global="3/minute") as (_, client_from):
        answers = [(await _login(client_from((f"192.0.2.{i}", 1000)), ADMIN_EMAIL, ADMIN_PASSWORD)).status_code
                   for i in range(4)]
        assert answers == [200, 200, 200, 429]


async def test_the_password_check_runs_on_its_own_pool(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real_verify = throttle_module.verify_password

    def recording_verify(password_hash: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real_verify(password_hash, password)

    monkeypatch.setattr(throttle_module, "verify_password", recording_verify)
    async with running(settings) as (_, client_from):
        assert (await _login(client_from(COUNSELOR_DESK), ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200
        assert (await _login(client_from(COUNSELOR_DESK), "nobody@example.vn", "wrong-password-1")).status_code == 401
    assert len(threads) == 2 and all(name.startswith("password-check") for name in threads)


async def test_counters_are_shared_through_redis(settings: Settings) -> None:
    """Two gateway processes (two throttles) on one Redis see each other's failures."""
    shared = settings.model_copy(update={"rate_limit_storage_url": "redis://127.0.0.1:6379/15",
                                         "login_limit_per_address": "3/5 minutes"})
    first, second = LoginThrottle(shared), LoginThrottle(shared)
    email, address = f"{uuid.uuid4().hex}@example.vn", f"test-{uuid.uuid4().hex}"
    try:
        for _ in range(3):
            await first.admit(email, address)
            await first.failed(email)
        assert await second.recent_failures(email) == 3
        with pytest.raises(throttle_module.Throttled):
            await second.admit(email, address)
        await second.succeeded(email)
        assert await first.recent_failures(email) == 0
    finally:
        first.close()
        second.close()
