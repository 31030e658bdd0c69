"""Helpers for the case and handoff tests: the real app served by uvicorn (so server-sent events
stream for real), staff accounts, and an SSE reader."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from tests.gateway.fakes.server import ServerThread

ADMIN_EMAIL = "admin@example.vn"
ADMIN_PASSWORD = "admin-password-123"
COUNSELOR_GROUP = "-1001234567890"
STAFF_PASSWORD = "counselor-password-1"


def case_settings(base: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bootstrap_admin_email": ADMIN_EMAIL,
        "bootstrap_admin_password": ADMIN_PASSWORD,
        "telegram_counselor_chat_id": COUNSELOR_GROUP,
        "case_notifier_tick_seconds": 0.2,
        "office_hours": "00:00-24:00",
    }
    values.update(overrides)
    return Settings(_env_file=None, **{**base.model_dump(), **values})  # type: ignore[call-arg]


def LiveGateway(app: FastAPI) -> ServerThread:  # noqa: N802  (reads as the thing it builds)
    """The gateway app with its lifespan (workers, channels), served on 127.0.0.1 in a thread."""
    return ServerThread(app, lifespan=True, start_timeout=30.0, stop_timeout=15.0)


@contextlib.contextmanager
def live_gateway(settings: Settings) -> Iterator[ServerThread]:
    gateway = LiveGateway(create_app(settings)).start()
    try:
        yield gateway
    finally:
        gateway.stop()


async def login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_staff(http: httpx.AsyncClient, admin: dict[str, str], email: str, role: str = "counselor",
                       name: str | None = None) -> dict[str, str]:
    response = await http.post("/api/v1/users", headers=admin, json={
        "email": email, "password": STAFF_PASSWORD, "role": role, "display_name": name or email.split("@")[0]})
    assert response.status_code == 201, response.text
    return await login(http, email, STAFF_PASSWORD)


class EventReader:
    """Reads GET /api/v1/events in the background and keeps every event with its arrival time."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.headers = headers
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventReader:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _read(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=httpx.Timeout(10.0, read=None)) as http:
            async with http.stream("GET", "/api/v1/events", headers=self.headers) as response:
                assert response.status_code == 200
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        payload = json.loads("\n".join(data))
                        data = []
                        self.events.append((time.monotonic(), payload))
                        if payload.get("type") == "ready":
                            self.ready.set()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [payload for _, payload in self.events if payload.get("type") == kind]
