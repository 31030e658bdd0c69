"""What every channel package shares: how it is installed on the app, and its webhook's plumbing
(one error shape, one body limit, waking the inbound worker).

A channel package (api/channels/<name>/) holds its webhook route (routes.py), its adapter
(platform events in, platform messages out), its sender, its own state and tables, and a service.py
that declares `CHANNEL = Channel(...)`. api/main.py installs every channel with `install_channel`.
The sender contract itself (SendResult, ChannelRegistry) belongs to the delivery side:
api/messaging/senders.py.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from api.context import app_context
from api.security.json_body import BadJsonBody, parse_json_body
from api.settings import Settings

BODY_TOO_LARGE = "request body too large"
log = logging.getLogger(__name__)


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Channel:
    """A channel as the app sees it: its routes and a startup service that registers its sender.

    `start(app)` runs in the lifespan after the database and write gate exist; it returns an object
    with `async stop()` (stopped in reverse order) or None."""

    name: str
    router: APIRouter
    start: Callable[[FastAPI], Awaitable[Any]]
    enabled: Callable[[Settings], bool] = _always


def install_channel(app: FastAPI, channel: Channel) -> None:
    """Add the channel's routes and its startup service when its settings are present."""
    if not channel.enabled(app_context(app).settings):
        return
    app.include_router(channel.router)
    app_context(app).startup_services.append(channel.start)


def webhook_error(status: int, message: str) -> JSONResponse:
    """The one error shape of every webhook and channel endpoint: {"ok": false, "error": message}."""
    return JSONResponse({"ok": False, "error": message}, status_code=status)


class BodyTooLarge(Exception):
    def response(self) -> JSONResponse:
        return webhook_error(413, BODY_TOO_LARGE)


async def read_limited_body(request: Request, max_bytes: int | None = None) -> bytes:
    """The raw body, read with a size limit (settings.max_body_bytes unless a tighter one is given):
    a larger body raises BodyTooLarge before anything is buffered past the limit."""
    if max_bytes is None:
        max_bytes = app_context(request.app).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, max_bytes: int | None = None) -> tuple[bytes, Any]:
    """The raw body and its JSON value, read by the one checked JSON reader (api/security/json_body.py);
    a stray character in a text is replaced, never a reason to turn a child's message away.
    Raises BodyTooLarge or BadJsonBody; `bad_body_response` turns either into the webhook error shape."""
    raw = await read_limited_body(request, max_bytes)
    return raw, parse_json_body(raw, repair_text=True)


def bad_body_response(error: BodyTooLarge | BadJsonBody) -> JSONResponse:
    if isinstance(error, BodyTooLarge):
        return error.response()
    return webhook_error(error.status, error.message)


def inbound_stored(app: FastAPI, channel: str) -> None:
    """A user message of `channel` was just committed: count it (gateway_messages_in) and wake the
    inbound worker (absent before the lifespan starts)."""
    context = app_context(app)
    context.metrics.messages_in.labels(channel).inc()
    log.info("inbound stored", extra={"channel": channel})
    worker = getattr(context, "inbound_worker", None)
    if worker is not None:
        worker.notify()
