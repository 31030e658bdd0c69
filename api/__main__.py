"""`python -m api`: run the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT.

Logs are structured (LOG_FORMAT json or console, api/logs.py). On SIGTERM the server stops
accepting connections, tells long responses to end (the consoles' event streams end at once), gives
open connections TIMEOUT_GRACEFUL_SHUTDOWN_SECONDS to finish, cuts the rest, and then stops the
workers (SHUTDOWN_GRACE_SECONDS for messages in flight): the process exits within about the sum.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from api.context import app_context
from api.logs import configure_logging
from api.main import create_app
from api.settings import get_settings


class GatewayServer(uvicorn.Server):
    """uvicorn's server, which first raises the app's shutdown flag when it starts shutting down."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, logging.getLevelName(settings.log_level.upper()))
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.gateway_host, port=settings.gateway_port, log_level="info",
                            access_log=False, log_config=None,  # logging is configured above
                            timeout_graceful_shutdown=settings.timeout_graceful_shutdown_seconds,
                            proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
    try:
        GatewayServer(config, app_context(app).shutdown.request).run()
    except KeyboardInterrupt:
        # uvicorn raises a caught SIGINT again once it has shut down; Ctrl-C, or `make run`'s
        # supervisor stopping its children, is the normal end here, not an error to print.
        pass


if __name__ == "__main__":
    main()
