"""A small round-robin TCP balancer for the local scaled topology (`make run-scaled`).

    python scripts/balancer.py --listen 8000 --backend 127.0.0.1:8101 --backend 127.0.0.1:8102

Each new client connection goes to the next backend in turn; a backend that refuses the connection
(stopped, killed, still starting) is skipped for that connection, so a replica that dies takes no new
connections while the others answer. Bytes are copied both ways unchanged (HTTP keep-alive, the
consoles' event streams): a connection stays on the backend it was given, as with HAProxy's TCP mode.

Written here because HAProxy, nginx and caddy are not installed on every development machine; for
a deployment use the proxy of deploy/ (caddy, the Kubernetes Service). Standard library only, under
the gateway environment's Python (3.11: a connection timeout is the builtin TimeoutError).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys

CONNECT_TIMEOUT_SECONDS = 2.0
CHUNK_BYTES = 64 * 1024


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until the source ends, then pass the end on (half-close) so the other side sees it."""
    try:
        while data := await source.read(CHUNK_BYTES):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()


class RoundRobin:
    """The backends in turn; `connect()` skips those that refuse and gives None when all do."""

    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._turn = itertools.count()

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        start = next(self._turn)
        for offset in range(len(self.backends)):
            host, port = self.backends[(start + offset) % len(self.backends)]
            try:
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS)
            except (TimeoutError, OSError):
                continue
        return None

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream = await self.connect()
        if upstream is None:  # every backend is down: close, the client sees a refused request
            client_writer.close()
            return
        upstream_reader, upstream_writer = upstream
        try:
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        finally:
            for writer in (upstream_writer, client_writer):
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()


def parse_backend(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def serve(host: str, port: int, backends: list[tuple[str, int]]) -> None:
    balancer = RoundRobin(backends)
    server = await asyncio.start_server(balancer.handle, host, port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--listen", type=int, required=True, help="the port to listen on")
    parser.add_argument("--backend", action="append", required=True, type=parse_backend,
                        help="host:port of a backend (repeat for each)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.listen, args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
