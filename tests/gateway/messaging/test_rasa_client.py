"""The Rasa client's connection pool: an idle connection is dropped before a server would close it,
so a turn never goes out on a connection that is being closed (a spurious hotline fallback)."""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import uvicorn

from api.messaging.rasa_client import KEEPALIVE_SECONDS, RasaClient


class CountingServer:
    """A minimal HTTP/1.1 server answering `[]` to every request, keeping connections open; it
    counts the connections it accepted."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[CountingServer]:
    counting = CountingServer()
    await counting.start()
    yield counting
    await counting.stop()


@pytest.mark.asyncio
async def test_a_busy_connection_is_reused_and_an_idle_one_is_not(server: CountingServer) -> None:
    client = RasaClient(server.url, keepalive_seconds=0.2)
    try:
        await client.send_message("telegram:1", "một")
        await client.send_message("telegram:1", "hai")
        assert server.connections == 1  # back to back: the pooled connection
        await asyncio.sleep(0.3)  # the condition is time itself: the connection idles past its expiry
        await client.send_message("telegram:1", "ba")
        assert server.connections == 2
    finally:
        await client.aclose()


def test_the_default_expiry_is_well_under_the_servers_keep_alive() -> None:
    # uvicorn (the fake services, many proxies) closes idle connections after 5 s; Rasa after 120 s.
    uvicorn_keep_alive = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert KEEPALIVE_SECONDS <= uvicorn_keep_alive / 2
