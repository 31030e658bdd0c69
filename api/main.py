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
from sqlalchemy import text

from api.cases.intake import load_risk_lexicon
from api.cases.setup import install_case_features
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
from api.messaging.outbox import add_outbox_listener, remove_outbox_listener
from api.messaging.pipeline import Pipeline
from api.messaging.rasa_client import RasaClient
from api.messaging.rasa_recovery import RasaRecovery
from api.messaging.worker import InboundWorker
from api.security.crypto import Crypto
from api.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Installed in this order; their startup services start in this order and stop in reverse.
CHANNELS = [telegram.CHANNEL, zalo.CHANNEL, webchat.CHANNEL]


def _database_is_up(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def freeze_startup_heap() -> None:
    """Keep the objects built at start-up (modules, ORM mappers, the Bot API client, the lexicon) out
    of the garbage collector's full passes. Without this every full pass walked them all: ~110 ms
    with the event loop stopped, every ~10 s under load, which was the whole tail of the webhook ack
    and reply latencies in the gateway benchmark. They live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    context = AppContext(settings=settings, crypto=Crypto(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous,
                            commit_in_thread=settings.sqlite_commit_in_thread)
        if settings.run_migrations_on_start:
            await asyncio.to_thread(upgrade_to_heads, settings.database_url)
        database.start_checkpointer()
        rasa = RasaClient(
            settings.rasa_url, token=settings.rasa_token.get_secret_value(), timeout=settings.rasa_timeout_seconds
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
            retry_base_seconds=settings.inbound_retry_base_seconds,
            retry_max_seconds=settings.inbound_retry_max_seconds,
        )
        context.inbound_worker = InboundWorker(gate, context.pipeline, settings)
        rasa_recovery = RasaRecovery(gate, rasa, context.inbound_worker.notify,
                                     settings.rasa_recovery_probe_seconds)
        context.pipeline.rasa_recovery = rasa_recovery
        context.delivery_worker = DeliveryWorker(gate, context.channel_senders, context.crypto, settings)
        services: list[Any] = []
        add_outbox_listener(context.delivery_worker.notify)
        try:
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
            remove_outbox_listener(context.delivery_worker.notify)
            for service in reversed(services):
                try:
                    await service.stop()
                except Exception:
                    log.exception("error while stopping %s", type(service).__name__)
            await rasa.aclose()
            database.dispose()

    app = FastAPI(title="Child protection chatbot gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.context = context

    for channel in CHANNELS:
        install_channel(app, channel)
    install_case_features(app)
    install_content(app)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        database = app_context(request.app).database
        rasa = app_context(request.app).rasa
        database_up = await asyncio.to_thread(_database_is_up, database)
        rasa_up = await rasa.is_up()
        body = {
            "status": "ok" if database_up and rasa_up else ("degraded" if database_up else "unavailable"),
            "rasa": "up" if rasa_up else "down",
            "database": "up" if database_up else "down",
        }
        return JSONResponse(body, status_code=200 if database_up else 503)

    return app
