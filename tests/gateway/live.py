"""The real gateway served by uvicorn in a thread with its lifespan (workers, channels), for the tests
that need real sockets: server-sent events, the browser tests, a second process."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from tests.gateway.fakes.server import ServerThread


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
