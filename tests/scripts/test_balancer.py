"""scripts/balancer.py, the round-robin TCP balancer of `make run-scaled`: connections go to the
backends in turn, a backend that refuses connections is skipped, and bytes pass both ways unchanged.
The backends are small asyncio echo servers that say who they are."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from balancer import RoundRobin  # noqa: E402
from services import free_port  # noqa: E402


async def _named_echo(name: bytes) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readline()
        writer.write(name + b":" + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _ask(port: int, line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


def test_connections_alternate_and_a_dead_backend_is_skipped():
    async def scenario() -> None:
        first, second = await _named_echo(b"a"), await _named_echo(b"b")
        dead = free_port()  # nothing listens there
        balancer = RoundRobin([("127.0.0.1", _port(first)), ("127.0.0.1", dead), ("127.0.0.1", _port(second))])
        front = await asyncio.start_server(balancer.handle, "127.0.0.1", 0)
        answers = [await _ask(_port(front), f"hello {i}\n".encode()) for i in range(6)]
        assert [a.split(b":")[0] for a in answers] == [b"a", b"b", b"b", b"a", b"b", b"b"]  # the dead one's turns go on
        assert [a.split(b":", 1)[1] for a in answers] == [f"hello {i}\n".encode() for i in range(6)]
        for server in (front, first, second):
            server.close()

    asyncio.run(scenario())


def test_with_every_backend_down_the_connection_is_closed():
    async def scenario() -> bytes:
        balancer = RoundRobin([("127.0.0.1", free_port())])
        front = await asyncio.start_server(balancer.handle, "127.0.0.1", 0)
        try:
            return await asyncio.wait_for(_ask(_port(front), b"anyone?\n"), 10)
        finally:
            front.close()

    assert asyncio.run(scenario()) == b""

