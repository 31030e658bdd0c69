"""Wires auth, the case log, notifications, the case API and the console into the gateway app."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.auth.bootstrap import ensure_bootstrap_admin
from api.auth.routes import router as auth_router
from api.auth.two_factor_routes import admin_router as two_factor_admin_router
from api.auth.two_factor_routes import assets_router as two_factor_assets
from api.auth.two_factor_routes import router as two_factor_router
from api.cases.board import router as board_router
from api.cases.emergency import StorageDownReplier
from api.cases.events import EventBroker, RedisRelay
from api.cases.feedback import FeedbackHooks, FeedbackOnClose
from api.cases.handoff import HandoffService
from api.cases.hooks import CaseHooks
from api.cases.learned_risk import load_learned_risk
from api.cases.notify import CaseNotifier
from api.cases.roster_routes import router as roster_router
from api.cases.routes import router as cases_router
from api.cases.search import router as search_router
from api.cases.service import CaseLog
from api.console.board import router as console_board_router
from api.console.labels_route import router as labels_router
from api.console.routes import router as console_router
from api.context import app_context
from api.db.after_commit import call_after_commit

log = logging.getLogger(__name__)


class _NotifyingCaseLog(CaseLog):
    """Wakes the notification sender after any commit that queued notifications."""

    notifier: CaseNotifier | None = None

    def record_child_message(self, session: Any, conversation: Any, **kwargs: Any) -> Any:
        change = super().record_child_message(session, conversation, **kwargs)
        if change is not None and self.notifier is not None:
            call_after_commit(session, self.notifier.wake)
        return change


def install_case_features(app: FastAPI) -> None:
    """Call from create_app once the app context exists."""
    context = app_context(app)
    settings = context.settings
    broker = EventBroker()
    case_log = _NotifyingCaseLog(settings, context.crypto, broker)
    context.case_events = broker
    context.case_log = case_log
    context.pipeline_hooks.register(CaseHooks(case_log, context.user_texts, context))
    app.include_router(auth_router)
    app.include_router(two_factor_router)
    app.include_router(two_factor_assets)
    app.include_router(two_factor_admin_router)
    app.include_router(cases_router)
    app.include_router(console_router)
    app.include_router(labels_router)
    # Helpline operations: search, supervisor board, on-call roster, after-chat question.
    for router in (search_router, board_router, roster_router, console_board_router):
        app.include_router(router)
    context.pipeline_hooks.register(FeedbackHooks(settings, context.user_texts))

    async def start(app: FastAPI) -> CaseNotifier:
        await asyncio.to_thread(ensure_bootstrap_admin, context.database, settings)
        notifier = CaseNotifier(context.write_gate, settings, context.crypto, broker,
                                tick_seconds=settings.case_notifier_tick_seconds, metrics=context.metrics)
        case_log.notifier = notifier
        context.case_notifier = notifier
        context.handoff = HandoffService(context.write_gate, context.rasa, case_log, broker,
                                         texts=context.user_texts)
        context.handoff.closed_hooks.append(FeedbackOnClose(context.write_gate, context.user_texts, context.crypto))
        context.pipeline.storage_down_reply = StorageDownReplier(context.channel_senders)
        return await notifier.start()

    async def start_relay(app: FastAPI) -> RedisRelay | None:
        if not settings.case_events_redis_url:
            return None
        return await RedisRelay(settings.case_events_redis_url, broker).start()

    context.startup_services.append(start_relay)
    context.startup_services.append(start)
    context.startup_services.append(_start_learned_risk)


class _LearnedRiskLoader:
    """Loads the learned risk model in a thread after start; stop() waits for it (a few seconds)."""

    def __init__(self, app: FastAPI) -> None:
        self.context = app_context(app)
        self.task = asyncio.create_task(self._load(), name="learned-risk-load")

    async def _load(self) -> None:
        settings = self.context.settings
        path = Path(settings.served_model_path)
        path = path if path.is_absolute() else Path(settings.repo_root) / path
        self.context.learned_risk = await asyncio.to_thread(load_learned_risk, path)
        if self.context.learned_risk is not None:
            log.info("learned risk model loaded for while Rasa is down")

    async def stop(self) -> None:
        await asyncio.gather(self.task, return_exceptions=True)


async def _start_learned_risk(app: FastAPI) -> _LearnedRiskLoader | None:
    if not app_context(app).settings.learned_risk_when_rasa_down:
        return None
    return _LearnedRiskLoader(app)
