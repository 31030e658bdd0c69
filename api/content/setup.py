"""Plugs the content concern into the app: routes, pipeline hooks, seeding and background work."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from api.content import broadcasts, directory, responses
from api.content.hooks import ContentHooks
from api.content.retrain import RetrainRunner
from api.content.routes import ROUTERS
from api.context import app_context
from api.db.session import Database
from api.settings import Settings
from api.tasks import PeriodicTask
from api.ui import CSS, JAVASCRIPT, ui_router

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
SCHEDULER_POLL_SECONDS = 5.0


def seed(database: Database, settings: Settings) -> None:
    """domain.yml responses as version 1 and the national help numbers; safe to run at every start."""
    domain = Path(settings.domain_path)
    domain = domain if domain.is_absolute() else Path(settings.repo_root) / domain
    with database.transaction() as session:
        added = responses.seed_responses(session, responses.load_domain_responses(domain))
        directory.seed_national(session)
    if added:
        log.info("seeded %d responses from %s", added, domain.name)


class BroadcastScheduler:
    """Sends scheduled broadcasts when their time comes."""

    def __init__(self, app: FastAPI, poll_seconds: float = SCHEDULER_POLL_SECONDS) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self._task = PeriodicTask("broadcast-scheduler", self._round, poll_seconds, on_error=self._round_failed)

    def start(self) -> BroadcastScheduler:
        self._task.start()
        return self

    def run_due(self) -> int:
        context = app_context(self.app)
        settings, database = context.settings, context.database
        sent = 0
        with database.transaction() as session:
            for broadcast in broadcasts.due(session):
                broadcasts.dispatch(session, broadcast, context.crypto,
                                    zalo_window_days=settings.zalo_reply_window_days)
                sent += 1
        return sent

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_due)

    @staticmethod
    def _round_failed(exc: Exception) -> None:  # keep scheduling; the next round retries
        log.error("scheduled broadcasts failed", exc_info=exc)

    async def stop(self) -> None:
        await self._task.stop()


class _ContentServices:
    def __init__(self, scheduler: BroadcastScheduler, runner: RetrainRunner) -> None:
        self.scheduler = scheduler
        self.runner = runner

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.runner.stop()


async def _start(app: FastAPI) -> _ContentServices:
    context = app_context(app)
    settings, database = context.settings, context.database
    await asyncio.to_thread(seed, database, settings)
    context.retrain_runner = RetrainRunner(database, settings)
    context.broadcast_scheduler = BroadcastScheduler(app, settings.broadcast_poll_seconds).start()
    return _ContentServices(context.broadcast_scheduler, context.retrain_runner)


def install_content(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    context = app_context(app)
    context.pipeline_hooks.register(ContentHooks(context.crypto, context.settings.timezone))
    context.user_texts.install(responses.render_gateway_text)
    context.startup_services.append(_start)
    app.include_router(ui_router("/content", STATIC_DIR, assets_path="/content/static",
                                 assets={"content.js": JAVASCRIPT, "content.css": CSS}, redirect_slash=True))
