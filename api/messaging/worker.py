"""The inbound worker: each conversation's messages strictly in order, many conversations at once.

Messages are claimed (pending → processing) with a lease as described in `api.messaging.leases`, so
two gateway processes on one database never process the same message nor two messages of one
conversation at the same time, and a crashed process's claims go back to pending.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.leases import LeasedWorker
from api.messaging.models import InboundMessage, InboundStatus
from api.messaging.pipeline import Pipeline
from api.metrics import GatewayMetrics
from api.settings import Settings

log = logging.getLogger(__name__)

MAX_UNEXPECTED_FAILURES = 5


class InboundWorker(LeasedWorker[int]):
    def __init__(self, gate: WriteGate, pipeline: Pipeline, settings: Settings, *,
                 metrics: GatewayMetrics | None = None, instance_id: str | None = None) -> None:
        super().__init__(gate, InboundMessage, "processing", settings,
                         concurrency=max(1, settings.worker_concurrency), name="inbound", log=log,
                         instance_id=instance_id)
        self.pipeline = pipeline
        self.metrics = metrics or pipeline.metrics

    async def recover_abandoned(self, force_all: bool = False) -> int:
        """Claims whose lease ran out (every claim with `force_all`) go back to pending."""
        count = await self._recover(force_all=force_all)
        if count:
            log.warning("recovered %d inbound message(s) left in processing", count)
        return count

    async def claim(self, limit: int) -> list[int]:
        """Claim up to `limit` messages, each the oldest unfinished one of its conversation."""
        return await self._claim(limit, load=lambda _session, inbound_id: inbound_id)

    def _row_id(self, inbound_id: int) -> int:
        return inbound_id

    async def _handle(self, inbound_id: int) -> None:
        try:
            await self.pipeline.process(inbound_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("inbound message %s failed", inbound_id)
            self.metrics.inbound_failures.labels("error").inc()
            await self._after_unexpected_failure(inbound_id, exc)

    async def _after_unexpected_failure(self, inbound_id: int, exc: Exception) -> None:
        """A bug or database error: retry a few times with backoff, then park the message as failed."""
        try:
            async with self.gate.transaction() as session:
                inbound = session.get(InboundMessage, inbound_id)
                if inbound is None or inbound.status != InboundStatus.PROCESSING:
                    return
                inbound.last_error = f"{type(exc).__name__}: {exc}"[:500]
                inbound.lease_expires_at = None
                inbound.claimed_by = None
                if inbound.attempts >= MAX_UNEXPECTED_FAILURES:
                    inbound.status = InboundStatus.FAILED
                    self.metrics.inbound_failures.labels("parked").inc()
                    log.error("inbound message %s parked as failed after %d attempt(s); "
                              "requeue with `python -m api.cli requeue-failed --inbound`",
                              inbound_id, inbound.attempts)
                else:
                    inbound.status = InboundStatus.PENDING
                    inbound.next_attempt_at = utcnow() + timedelta(
                        seconds=self.pipeline.retry_delay(inbound.attempts))
        except Exception:
            log.exception("could not record the failure of inbound message %s", inbound_id)
