"""Structured logs (structlog) and the request id that follows one message through the gateway.

`configure_logging(format)` runs once when the process starts (api/__main__.py): every record,
from structlog or from the standard `logging` module (the gateway's modules, uvicorn, libraries),
goes through one structlog formatter, as one JSON object per line (LOG_FORMAT=json) or readable
lines (console). Records carry the request id bound in the current context.

The request id is taken from the webhook's X-Request-ID header (or made up), stored with the
inbound row and its outbox rows, bound again by the worker and the delivery worker, and sent to
Rasa as X-Request-ID: one id ties the webhook, the pipeline, the Rasa call and the delivery.

Rule: no message text and no user id (platform or pseudonymous) at INFO or above.
"""
from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from outside are accepted only in this shape (they end up in logs and in the database).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LOG_FORMATS = ("json", "console")
# httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "apscheduler")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(header_value: str | None) -> str:
    """The caller's id when it is well formed, otherwise a new one."""
    if header_value and _VALID_REQUEST_ID.match(header_value):
        return header_value
    return new_request_id()


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def bind_request_id(request_id: str | None) -> None:
    """Bind (or with None clear) the request id for the rest of this task's logs."""
    if request_id:
        structlog.contextvars.bind_contextvars(request_id=request_id)
    else:
        structlog.contextvars.unbind_contextvars("request_id")


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Bind the request id for a block, then restore what was bound before."""
    tokens = structlog.contextvars.bind_contextvars(request_id=request_id) if request_id else {}
    try:
        yield
    finally:
        if tokens:
            structlog.contextvars.reset_contextvars(**tokens)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(log_format: str = "json", level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Route structlog and standard logging through one formatter on one handler (stderr by default).

    Called once at process start; calling it again replaces the handler (tests do, with a stream)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    # Tracebacks without local variables: a frame's locals may hold message text or user ids.
    final: list[Any]
    if log_format == "json":
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False))
        final = [tracebacks, structlog.processors.JSONRenderer(ensure_ascii=False)]
    else:
        final = [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # `extra={...}` of standard logging calls become fields of the record.
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_gateway_handler", False):
            root.removeHandler(old)
    handler._gateway_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's own handlers would print its records a second time, unformatted.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def remove_logging_handler() -> None:
    """Undo `configure_logging`'s handler (tests)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_gateway_handler", False):
            root.removeHandler(old)
