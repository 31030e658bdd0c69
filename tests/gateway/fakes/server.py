"""Run an ASGI app with uvicorn in a background thread on a free 127.0.0.1 port: the fake Telegram,
Zalo and Rasa servers, and the real gateway for the browser tests (`lifespan=True`)."""
from __future__ import annotations

import socket
import threading
from typing import Self

import uvicorn

from tests.gateway.waiting import eventually_blocking


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """`lifespan=True` runs the app's lifespan too (the gateway's workers and channels)."""

    def __init__(self, app, port: int | None = None, *, lifespan: bool = False,  # type: ignore[no-untyped-def]
                 start_timeout: float = 10.0, stop_timeout: float = 5.0) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="on" if lifespan else "off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout

    def start(self) -> ServerThread:
        self._thread.start()

        def started() -> bool:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} stopped while starting")
            return bool(self._server.started)

        eventually_blocking(started, timeout=self._start_timeout, what=f"the server on port {self.port}",
                            interval=0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=self._stop_timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeService:
    """A fake outside service served by a ServerThread (`self._server`, set by the subclass)."""

    _server: ServerThread

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
