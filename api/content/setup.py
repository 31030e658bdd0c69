"""Plugs the content concern into the app: routes, pipeline hooks, seeding and background work."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.content import broadcasts, directory, responses
from api.content.hooks import ContentHooks
from api.content.models import BroadcastStatus
from api.content.retrain import RetrainRunner
from api.content.routes import ROUTERS
from api.context import app_context
from api.db.session import Database
from api.messaging.outbox import notify_outbox
from api.settings import Settings
from api.tasks import PeriodicTask
from api.ui import CSS, JAVASCRIPT, ui_router

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
SCHEDULER_POLL_SECONDS = 5.0
BATCH_PAUSE_SECONDS = 0.01


def seed(database: Database, settings: Settings) -> None:
    """domain.yml responses and the gateway's own texts as version 1, and the national help numbers;
    safe to run at every start."""
    domain = Path(settings.domain_path)
    domain = domain if domain.is_absolute() else Path(settings.repo_root) / domain
    domain_responses = {**responses.gateway_text_defaults(), **responses.load_domain_responses(domain)}
    try:
        added = _seed_once(database, domain_responses)
    except IntegrityError:
        # Another replica starting at the same moment inserted the same rows first (two gateways on
        # one database): they are there now, so a second pass only refreshes them.
        log.info("content seeded by another gateway replica meanwhile; checking again")
        added = _seed_once(database, domain_responses)
    if added:
        log.info("seeded %d responses from %s", added, domain.name)


def _seed_once(database: Database, domain_responses: dict[str, list[dict[str, Any]]]) -> int:
    with database.transaction() as session:
        added = responses.seed_responses(session, domain_responses)
        directory.seed_national(session)
    return added


class BroadcastScheduler:
    """Starts scheduled broadcasts when their time comes and dispatches every sending broadcast in
    batches (also one a stopped process left half-way), without holding up the event loop."""

    def __init__(self, app: FastAPI, poll_seconds: float = SCHEDULER_POLL_SECONDS) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self._task = PeriodicTask("broadcast-scheduler", self._round, poll_seconds, on_error=self._round_failed)

    def start(self) -> BroadcastScheduler:
        self._task.start()
        return self

    def wake(self) -> None:
        """A broadcast was started: dispatch it now rather than at the next poll."""
        self._task.wake()

    def start_due(self) -> list[int]:
        """Mark the scheduled broadcasts whose time has come as sending; all sending broadcasts' ids."""
        with app_context(self.app).database.transaction() as session:
            for broadcast in broadcasts.due(session):
                broadcasts.start(broadcast)
            session.flush()
            return broadcasts.sending(session)

    async def dispatch(self, broadcast_id: int) -> int:
        """Queue the broadcast batch by batch, each in its own short transaction, with the loop's
        other work in between. Returns how many outbox rows were queued."""
        database = app_context(self.app).database
        queued = 0
        while True:
            try:
                if database.is_sqlite:
                    step = await self._sqlite_step(broadcast_id)
                else:
                    step = await asyncio.to_thread(self._step_in_thread, broadcast_id)
                    notify_outbox()  # here, on the loop: the workers' wake-ups are not thread-safe
            except IntegrityError:  # another process queued some of them first: read again
                log.info("broadcast %s: batch taken by another process, reading again", broadcast_id)
                step = 0
            if step is None:
                return queued
            queued += step
            await asyncio.sleep(BATCH_PAUSE_SECONDS)

    async def _sqlite_step(self, broadcast_id: int) -> int | None:
        """SQLite: read and write on the loop's thread, the write through the gate (a few ms each).
        In a worker thread the write would hold SQLite's lock while the loop's own writes wait for
        it, and the reading would compete with the loop for the interpreter lock."""
        context = app_context(self.app)
        with context.database.session() as session:
            batch = self._next_batch(session, broadcast_id)
        if batch.status != BroadcastStatus.SENDING:
            return None
        async with context.write_gate.transaction() as session:
            return self._write(session, batch, notify=True)

    def _step_in_thread(self, broadcast_id: int) -> int | None:
        """PostgreSQL: one batch read and written in a worker thread (no gate: row locks suffice),
        so the loop does not wait for the server's answers."""
        with app_context(self.app).database.transaction() as session:
            batch = self._next_batch(session, broadcast_id)
            if batch.status != BroadcastStatus.SENDING:
                return None
            return self._write(session, batch, notify=False)

    @staticmethod
    def _write(session: Session, batch: broadcasts.Batch, *, notify: bool) -> int | None:
        if batch.empty:
            broadcasts.finish(session, batch.broadcast_id)
            return None
        return broadcasts.write_batch(session, batch, notify=notify)

    def _next_batch(self, session: Session, broadcast_id: int) -> broadcasts.Batch:
        context = app_context(self.app)
        return broadcasts.next_batch(session, broadcast_id, context.crypto,
                                     size=context.settings.broadcast_batch_size,
                                     zalo_window_days=context.settings.zalo_reply_window_days)

    async def _round(self) -> None:
        for broadcast_id in await asyncio.to_thread(self.start_due):
            await self.dispatch(broadcast_id)

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
    context.pipeline_hooks.register(ContentHooks(context.crypto, context.settings.timezone, context.user_texts))
    context.user_texts.install(responses.render_gateway_text)
    context.startup_services.append(_start)
    assets = {"content.js": JAVASCRIPT, "content-widgets.js": JAVASCRIPT, "content.css": CSS}
    app.include_router(ui_router("/content", STATIC_DIR, assets_path="/content/static", assets=assets,
                                 redirect_slash=True))
