"""Wires the operations routes, the request-id middleware and the database gauges into the app."""
from __future__ import annotations

from fastapi import FastAPI

from api.context import app_context
from api.ops.middleware import RequestIdMiddleware
from api.ops.queues import DatabaseStateCollector
from api.ops.routes import admin_router, router


def install_operations(app: FastAPI) -> None:
    """Call from create_app once the app context exists."""
    context = app_context(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(router)
    app.include_router(admin_router)
    # Reads the database at each scrape, once the lifespan has opened it.
    context.metrics.add_collector(DatabaseStateCollector(lambda: getattr(context, "database", None)))
