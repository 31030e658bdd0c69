"""Operations routes: /health/live, /health/ready, /metrics and the admins' view of failed rows."""
from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.context import app_context
from api.deps import ERROR_RESPONSES, AdminUser, DbSession
from api.ops.failed import failed_counts, failed_rows
from api.ops.health import readiness
from api.security.json_body import GuardedJsonRoute

router = APIRouter(include_in_schema=False)
admin_router = APIRouter(prefix="/api/v1/admin", tags=["operations"], route_class=GuardedJsonRoute,
                         responses=ERROR_RESPONSES)


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers; nothing else is checked (an outage elsewhere must not restart it)."""
    return {"status": "alive"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    is_ready, body = await readiness(app_context(request.app))
    return JSONResponse(body, status_code=200 if is_ready else 503)


def metrics_access_error(request: Request) -> JSONResponse | None:
    """None when this request may read /metrics: with METRICS_TOKEN set, only with that bearer token;
    without it, only outside production."""
    settings = app_context(request.app).settings
    token = settings.metrics_token.get_secret_value()
    if not token:
        if settings.environment == "production":
            return JSONResponse({"detail": "metrics are disabled: set METRICS_TOKEN"}, status_code=403)
        return None
    scheme, _, provided = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(provided.encode(), token.encode()):
        return JSONResponse({"detail": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return None


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    refused = metrics_access_error(request)
    if refused is not None:
        return refused
    registry = app_context(request.app).metrics.registry
    # Off the event loop: the queue and case gauges query the database.
    body = await asyncio.to_thread(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@admin_router.get("/failed")
def list_failed(user: AdminUser, session: DbSession) -> dict[str, Any]:
    """Inbound messages and outbox rows that gave up: counts, and per row its id, channel, reason,
    attempts and age (never the text). Requeue them with `python -m api.cli requeue-failed`."""
    return failed_rows(session)


@admin_router.get("/failed/count")
def count_failed(user: AdminUser, session: DbSession) -> dict[str, int]:
    """Counts only, for the console's banner (shown to admins)."""
    return failed_counts(session)
