"""Reads the counselor console's server-sent events (GET /api/v1/events) as a console would."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import httpx


class EventReader:
    """Reads GET /api/v1/events in the background and keeps every event with its arrival time, and
    counts the heartbeats (`: ping`, sent after each quiet period once the session is checked)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.headers = headers
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.pings = 0
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
                    elif line.startswith(": ping"):
                        self.pings += 1
                    elif line == "" and data:
                        payload = json.loads("\n".join(data))
                        data = []
                        self.events.append((time.monotonic(), payload))
                        if payload.get("type") == "ready":
                            self.ready.set()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [payload for _, payload in self.events if payload.get("type") == kind]
