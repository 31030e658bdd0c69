"""The inbound worker: each conversation's messages strictly in order, many conversations at once.

Claiming is an atomic status update (pending → processing) on the oldest unfinished message of a
conversation, so two gateway processes on one database never process the same message nor two
messages of one conversation at the same time. Claims carry a lease; a claim whose lease ran out
(the process died) goes back to pending, at start-up and periodically.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from api.db.base import utcnow
from api.messaging.gate import WriteGate
from api.messaging.inflight import finish_in_flight
from api.messaging.models import InboundMessage
from api.pipeline import Pipeline
from api.settings import Settings

log = logging.getLogger(__name__)

MAX_UNEXPECTED_FAILURES = 5
RECOVERY_INTERVAL_SECONDS = 10.0


class InboundWorker:
    def __init__(self, gate: WriteGate, pipeline: Pipeline, settings: Settings) -> None:
        self.gate = gate
        self.pipeline = pipeline
        self.concurrency = max(1, settings.worker_concurrency)
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_seconds = settings.worker_lease_seconds
        self.grace_seconds = settings.shutdown_grace_seconds
        self._wake = asyncio.Event()
        self._active: dict[int, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_recovery = 0.0

    def notify(self) -> None:
        """New work was committed: look now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> InboundWorker:
        await self.recover_abandoned(force_all=False)
        self._loop_task = asyncio.create_task(self._run(), name="inbound-worker")
        return self

    async def stop(self) -> None:
        """Stop claiming, let in-flight messages finish (up to the grace period), release the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        await finish_in_flight(list(self._active.values()), self.grace_seconds)
        await self._release(list(self._active))

    async def recover_abandoned(self, force_all: bool = False) -> int:
        """Claims whose lease ran out go back to pending (nothing is lost after a crash)."""
        now = utcnow()
        condition = InboundMessage.status == "processing"
        if not force_all:
            condition = and_(condition, or_(InboundMessage.lease_expires_at.is_(None),
                                            InboundMessage.lease_expires_at < now))
        async with self.gate.transaction() as session:
            result = session.execute(
                update(InboundMessage).where(condition).values(status="pending", lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            log.warning("recovered %d inbound message(s) left in processing", count)
        self._last_recovery = time.monotonic()
        return count

    async def _release(self, inbound_ids: list[int]) -> None:
        if not inbound_ids:
            return
        async with self.gate.transaction() as session:
            session.execute(
                update(InboundMessage)
                .where(InboundMessage.id.in_(inbound_ids), InboundMessage.status == "processing")
                .values(status="pending", lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )

    async def claim(self, limit: int) -> list[int]:
        """Claim up to `limit` messages, each the oldest unfinished one of its conversation."""
        now = utcnow()
        earlier = aliased(InboundMessage)
        head_of_conversation = ~exists().where(
            earlier.conversation_id == InboundMessage.conversation_id,
            earlier.id < InboundMessage.id,
            earlier.status.in_(("pending", "processing")),
        )
        candidates = (
            select(InboundMessage.id)
            .where(
                InboundMessage.status == "pending",
                or_(InboundMessage.next_attempt_at.is_(None), InboundMessage.next_attempt_at <= now),
                head_of_conversation,
            )
            .order_by(InboundMessage.id)
            .limit(limit)
        )
        claimed: list[int] = []
        lease = now + timedelta(seconds=self.lease_seconds)
        async with self.gate.transaction() as session:
            for inbound_id in session.scalars(candidates).all():
                result = session.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id == inbound_id, InboundMessage.status == "pending")
                    .values(status="processing", attempts=InboundMessage.attempts + 1, lease_expires_at=lease)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(inbound_id)
        return claimed

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                if time.monotonic() - self._last_recovery > RECOVERY_INTERVAL_SECONDS:
                    await self.recover_abandoned()
                free = self.concurrency - len(self._active)
                claimed = await self.claim(free) if free > 0 else []
                for inbound_id in claimed:
                    self._active[inbound_id] = asyncio.create_task(self._process(inbound_id))
            except Exception:
                log.exception("inbound worker loop error")
                claimed = []
            if claimed and len(self._active) < self.concurrency:
                continue  # there may be more ready work
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def _process(self, inbound_id: int) -> None:
        try:
            await self.pipeline.process(inbound_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("inbound message %s failed", inbound_id)
            await self._after_unexpected_failure(inbound_id, exc)
        finally:
            self._active.pop(inbound_id, None)
            self._wake.set()

    async def _after_unexpected_failure(self, inbound_id: int, exc: Exception) -> None:
        """A bug or database error: retry a few times with backoff, then park the message as failed."""
        try:
            async with self.gate.transaction() as session:
                inbound = session.get(InboundMessage, inbound_id)
                if inbound is None or inbound.status != "processing":
                    return
                inbound.last_error = f"{type(exc).__name__}: {exc}"[:500]
                inbound.lease_expires_at = None
                if inbound.attempts >= MAX_UNEXPECTED_FAILURES:
                    inbound.status = "failed"
                else:
                    inbound.status = "pending"
                    inbound.next_attempt_at = utcnow() + timedelta(
                        seconds=self.pipeline.retry_delay(inbound.attempts))
        except Exception:
            log.exception("could not record the failure of inbound message %s", inbound_id)
