"""The privacy feature's running parts on one app: the tracker store, the purge and the last step
of erasures (both PeriodicTasks), and how they reach the database."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import Conversation, OutboundMessage, OutboundStatus
from api.messaging.texts import UserTexts
from api.privacy import service
from api.privacy.models import ErasureRequest, ErasureStatus
from api.privacy.policy import RetentionPolicy
from api.privacy.purge import Purge, PurgeReport
from api.privacy.trackers import TrackerStore
from api.security.crypto import Crypto
from api.settings import Settings
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)
T = TypeVar("T")
FINISH_POLL_SECONDS = 2.0
# The web chat's browser fetches the last notice from its mailbox: give it time before it goes.
WEB_NOTICE_GRACE = timedelta(seconds=60)
# A last notice that cannot be delivered (blocked bot) does not keep the data any longer than this.
UNDELIVERED_NOTICE_LIMIT = timedelta(minutes=10)


def _aware(value: Any) -> Any:
    return value.replace(tzinfo=utcnow().tzinfo) if value is not None and value.tzinfo is None else value


class PrivacyRuntime:
    def __init__(self, settings: Settings, crypto: Crypto, texts: UserTexts) -> None:
        self.settings = settings
        self.crypto = crypto
        self.texts = texts
        self.trackers = TrackerStore(settings.purge_tracker_store_url.get_secret_value(),
                                     settings.purge_tracker_redis_key_prefix)
        self.gate: WriteGate | None = None
        self._purge_task: PeriodicTask | None = None
        self._finish_task: PeriodicTask | None = None
        self._started_purging = False

    async def transact(self, fn: Callable[[Session], T]) -> T:
        """fn(session) in one committed transaction: SQLite through the write gate on the loop
        (short batches), PostgreSQL in a worker thread (row locks suffice)."""
        assert self.gate is not None
        if self.gate.database.is_sqlite:
            async with self.gate.transaction() as session:
                return fn(session)

        def run() -> T:
            assert self.gate is not None
            with self.gate.database.transaction() as session:
                return fn(session)
        return await asyncio.to_thread(run)

    def purge(self) -> Purge:
        assert self.gate is not None
        return Purge(RetentionPolicy.from_settings(self.settings), self.trackers, self.transact,
                     self.settings.purge_batch_size, database=self.gate.database)

    async def purge_once(self, *, dry_run: bool = False) -> PurgeReport:
        return await self.purge().run(dry_run=dry_run)

    async def _scheduled_purge(self) -> None:
        """The first round comes one interval after start, not at it: a gateway restarted again
        and again never purges in bursts, and start-up stays quick."""
        if not self._started_purging:
            self._started_purging = True
            return
        await self.purge_once()

    def wake_finisher(self) -> None:
        if self._finish_task is not None:
            self._finish_task.wake()

    async def finish_erasures(self) -> int:
        """The last step of every erasure whose last notice went out; how many finished."""
        ready = await self.transact(self._ready)
        for request_id, sender in ready:
            events = await asyncio.to_thread(self.trackers.delete, [sender] if sender else [])
            await self.transact(partial(self._finish_one, request_id=request_id, tracker_events=events))
        return len(ready)

    def _ready(self, session: Session) -> list[tuple[int, str | None]]:
        ready = []
        now = utcnow()
        for request in service.erasing(session):
            if request.conversation_id is None or self._notice_gone(session, request, now):
                ready.append((request.id, request.sender_id))
        return ready

    @staticmethod
    def _notice_gone(session: Session, request: ErasureRequest, now: Any) -> bool:
        rows = OutboundMessage.conversation_id == request.conversation_id
        waiting = session.scalar(select(func.count()).where(rows, OutboundMessage.status.in_(
            [OutboundStatus.PENDING, OutboundStatus.SENDING]))) or 0
        started = _aware(request.decided_at) or now
        if waiting:
            return now - started > UNDELIVERED_NOTICE_LIMIT
        conversation = session.get(Conversation, request.conversation_id)
        if conversation is not None and conversation.channel == "web":
            last_sent = _aware(session.scalar(select(func.max(OutboundMessage.sent_at)).where(rows)))
            return last_sent is None or now - last_sent > WEB_NOTICE_GRACE
        return True

    @staticmethod
    def _finish_one(session: Session, *, request_id: int, tracker_events: int) -> None:
        request = session.get(ErasureRequest, request_id)
        if request is None or request.status != ErasureStatus.ERASING:
            return
        try:
            service.finish(session, request, tracker_events=tracker_events)
        except service.ErasureRefused:  # a hold was placed meanwhile: back to a supervisor
            request.status = ErasureStatus.SUPERVISOR
            request.decision_reason = "legal hold placed during the erasure"

    def start(self) -> PrivacyRuntime:
        self._finish_task = PeriodicTask("privacy-erasure", self.finish_erasures, FINISH_POLL_SECONDS).start()
        if self.settings.purge_interval_seconds > 0:  # 0: only the command line purges
            self._purge_task = PeriodicTask("privacy-purge", self._scheduled_purge,
                                            self.settings.purge_interval_seconds).start()
        return self

    async def stop(self) -> None:
        for task in (self._purge_task, self._finish_task):
            if task is not None:
                await task.stop()
        await asyncio.to_thread(self.trackers.dispose)


def privacy_runtime(app: FastAPI) -> PrivacyRuntime:
    runtime: PrivacyRuntime = app.state.privacy
    return runtime
