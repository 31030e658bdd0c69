"""The FastAPI gateway: `create_app()` wires settings, database, Rasa, channels and workers."""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth.throttle import LoginThrottle
from api.cases.intake import load_risk_lexicon
from api.cases.setup import install_case_features
from api.casework.setup import install_casework
from api.channels.base import install_channel
from api.channels.telegram import service as telegram
from api.channels.webchat import service as webchat
from api.channels.zalo import service as zalo
from api.content.setup import install_content
from api.context import AppContext, app_context
from api.db.gate import WriteGate
from api.db.migrate import upgrade_to_heads
from api.db.session import Database
from api.messaging.delivery import DeliveryWorker
from api.messaging.instances import InstanceRegistry
from api.messaging.outbox import add_outbox_listener, remove_outbox_listener
from api.messaging.pipeline import Pipeline
from api.messaging.rasa_client import RasaClient
from api.messaging.rasa_recovery import RasaRecovery
from api.messaging.worker import InboundWorker
from api.ops.health import database_is_up
from api.ops.setup import install_operations
from api.privacy.setup import install_privacy
from api.reports.setup import install_reports
from api.security.crypto import Crypto
from api.security.headers import SecurityHeadersMiddleware
from api.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Installed in this order; their startup services start in this order and stop in reverse.
CHANNELS = [telegram.CHANNEL, zalo.CHANNEL, webchat.CHANNEL]


def freeze_startup_heap() -> None:
    """Keep the objects built at start-up (modules, ORM mappers, the Bot API client, the lexicon) out
    of the garbage collector's full passes. Without this every full pass walked them all: ~110 ms
    with the event loop stopped, every ~10 s under load, which was the whole tail of the webhook ack
    and reply latencies in the gateway benchmark. They live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def _wake_workers(context: AppContext) -> None:
    """Claims of a stopped process went back to pending: look at them now."""
    context.inbound_worker.notify()
    context.delivery_worker.notify()


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The last resort for an error no handler expected: a JSON 500 that says nothing about the
    code (the traceback goes to the server log only)."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return JSONResponse({"detail": "Lỗi máy chủ. Vui lòng thử lại sau."}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    context = AppContext(settings=settings, crypto=Crypto(settings))
    context.login_throttle = LoginThrottle(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous,
                            commit_in_thread=settings.sqlite_commit_in_thread)
        if settings.run_migrations_on_start:
            await asyncio.to_thread(upgrade_to_heads, settings.database_url)
        database.start_checkpointer()
        context.shutdown.bind()
        rasa = RasaClient(
            settings.rasa_url, token=settings.rasa_token.get_secret_value(), timeout=settings.rasa_timeout_seconds,
            metrics=context.metrics,
        )
        gate = WriteGate(database)
        # The intake screen's lexicon: compiled once here (~0.15 s), never at import time.
        context.risk_lexicon = await asyncio.to_thread(load_risk_lexicon)
        context.database = database
        context.write_gate = gate
        context.rasa = rasa
        context.pipeline = Pipeline(
            gate,
            rasa,
            context.pipeline_hooks,
            context.crypto,
            texts=context.user_texts,
            retry_base_seconds=settings.inbound_retry_base_seconds,
            retry_max_seconds=settings.inbound_retry_max_seconds,
            metrics=context.metrics,
        )
        context.instance = InstanceRegistry(gate, settings, on_released=lambda: _wake_workers(context))
        context.inbound_worker = InboundWorker(gate, context.pipeline, settings, metrics=context.metrics,
                                               instance_id=context.instance.id)
        rasa_recovery = RasaRecovery(gate, rasa, context.inbound_worker.notify,
                                     settings.rasa_recovery_probe_seconds)
        context.pipeline.rasa_recovery = rasa_recovery
        context.delivery_worker = DeliveryWorker(gate, context.channel_senders, context.crypto, settings,
                                                 metrics=context.metrics, instance_id=context.instance.id)
        services: list[Any] = context.background_services
        services.clear()
        add_outbox_listener(context.delivery_worker.notify)
        try:
            # Registered first (taking back what dead processes held), stopped last (after the
            # workers released their claims).
            services.append(await context.instance.start())
            for start in context.startup_services:
                service = await start(app)
                if service is not None:
                    services.append(service)
            services.append(await context.delivery_worker.start())
            services.append(await context.inbound_worker.start())
            services.append(await rasa_recovery.start())
            freeze_startup_heap()
            yield
        finally:
            context.shutdown.request()  # event streams still open end now
            remove_outbox_listener(context.delivery_worker.notify)
            for service in reversed(services):
                try:
                    await service.stop()
                except Exception:
                    log.exception("error while stopping %s", type(service).__name__)
            services.clear()
            await rasa.aclose()
            context.login_throttle.close()
            database.dispose()

    docs = settings.api_docs_enabled
    app = FastAPI(title="Child protection chatbot gateway", lifespan=lifespan, redoc_url=None,
                  docs_url="/docs" if docs else None, openapi_url="/openapi.json" if docs else None,
                  max_body_size=settings.max_body_bytes)
    app.state.context = context
    app.add_middleware(SecurityHeadersMiddleware, chat_frame_ancestors=settings.chat_frame_ancestors)
    app.add_exception_handler(Exception, internal_error)

    for channel in CHANNELS:
        install_channel(app, channel)
    install_case_features(app)
    install_casework(app)
    install_privacy(app)
    install_content(app)
    install_operations(app)
    install_reports(app)

    @app.get("/health", responses={503: {"description": "The database is down"}})
    async def health(request: Request) -> JSONResponse:
        """The first health check (kept for existing checks): 200 while the database answers.
        Probes use /health/live and /health/ready (api/ops/routes.py)."""
        database = app_context(request.app).database
        rasa = app_context(request.app).rasa
        database_up = await asyncio.to_thread(database_is_up, database)
        rasa_up = await rasa.is_up()
        body = {
            "status": "ok" if database_up and rasa_up else ("degraded" if database_up else "unavailable"),
            "rasa": "up" if rasa_up else "down",
            "database": "up" if database_up else "down",
        }
        return JSONResponse(body, status_code=200 if database_up else 503)

    return app
