"""Wires auth, the case log, notifications, the case API and the console into the gateway app."""
from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from api.auth.bootstrap import ensure_bootstrap_admin
from api.auth.routes import router as auth_router
from api.cases.emergency import StorageDownReplier
from api.cases.events import EventBroker, RedisRelay
from api.cases.handoff import HandoffService
from api.cases.hooks import CaseHooks
from api.cases.notify import CaseNotifier
from api.cases.routes import router as cases_router
from api.cases.service import CaseLog
from api.console.routes import router as console_router
from api.context import app_context
from api.db.after_commit import call_after_commit


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
    app.include_router(cases_router)
    app.include_router(console_router)

    async def start(app: FastAPI) -> CaseNotifier:
        await asyncio.to_thread(ensure_bootstrap_admin, context.database, settings)
        notifier = CaseNotifier(context.write_gate, settings, context.crypto, broker,
                                tick_seconds=settings.case_notifier_tick_seconds, metrics=context.metrics)
        case_log.notifier = notifier
        context.case_notifier = notifier
        context.handoff = HandoffService(context.write_gate, context.rasa, case_log, broker,
                                         texts=context.user_texts)
        context.pipeline.storage_down_reply = StorageDownReplier(context.channel_senders)
        return await notifier.start()

    async def start_relay(app: FastAPI) -> RedisRelay | None:
        if not settings.case_events_redis_url:
            return None
        return await RedisRelay(settings.case_events_redis_url, broker).start()

    context.startup_services.append(start_relay)
    context.startup_services.append(start)
