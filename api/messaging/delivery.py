"""The delivery worker: sends outbox rows through the channel senders.

Each row is claimed with an atomic update (pending → sending) and marked sent after the platform
accepted it, so a row marked sent is never sent again. A conversation's rows go out in order (the
oldest unfinished row of a conversation is the only one that may be sent). Transient errors (429,
5xx, timeouts) are retried with exponential backoff and jitter, at least the platform's retry_after;
permanent errors and rows past OUTBOX_MAX_ATTEMPTS are recorded as failed.

A process that dies between the platform call and marking the row sent leaves it in sending; its
lease expires and the row is retried (a possible duplicate is preferred to a lost safety message).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import aliased

from api.db.base import utcnow
from api.messaging.gate import WriteGate
from api.messaging.inflight import finish_in_flight
from api.messaging.models import Conversation, OutboundMessage
from api.messaging.ratelimit import KeyedBuckets, TokenBucket
from api.security.crypto import Crypto
from api.settings import Settings
from bot.base import ChannelRegistry, SendResult

log = logging.getLogger(__name__)

RECOVERY_INTERVAL_SECONDS = 10.0


@dataclass
class _Claimed:
    row_id: int
    conversation_id: int
    channel: str
    attempts: int
    platform_user_id: str
    payload: dict[str, Any]


class DeliveryWorker:
    def __init__(self, gate: WriteGate, channels: ChannelRegistry, crypto: Crypto, settings: Settings) -> None:
        self.gate = gate
        self.channels = channels
        self.crypto = crypto
        self.max_attempts = max(1, settings.outbox_max_attempts)
        self.retry_base = settings.outbox_retry_base_seconds
        self.retry_max = settings.outbox_retry_max_seconds
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_seconds = settings.worker_lease_seconds
        self.grace_seconds = settings.shutdown_grace_seconds
        self.concurrency = max(4, settings.worker_concurrency * 2)
        self.global_bucket = TokenBucket(settings.delivery_global_rate_per_second,
                                         burst=max(1.0, settings.delivery_global_rate_per_second))
        self.recipient_buckets = KeyedBuckets(settings.delivery_per_recipient_rate_per_second,
                                              burst=settings.delivery_per_recipient_burst)
        self._wake = asyncio.Event()
        self._active: dict[int, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_recovery = 0.0

    def notify(self) -> None:
        self._wake.set()

    async def start(self) -> DeliveryWorker:
        await self.recover_abandoned()
        self._loop_task = asyncio.create_task(self._run(), name="delivery-worker")
        return self

    async def stop(self) -> None:
        """Stop claiming; in-flight sends finish and are recorded (so nothing is sent twice)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        await finish_in_flight(list(self._active.values()), self.grace_seconds)
        await self._release(list(self._active))

    async def recover_abandoned(self) -> int:
        now = utcnow()
        async with self.gate.transaction() as session:
            result = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.status == "sending",
                       or_(OutboundMessage.lease_expires_at.is_(None), OutboundMessage.lease_expires_at < now))
                .values(status="pending", lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            log.warning("recovered %d outbound message(s) left in sending", count)
        self._last_recovery = time.monotonic()
        return count

    async def _release(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        async with self.gate.transaction() as session:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(row_ids), OutboundMessage.status == "sending")
                .values(status="pending", lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )

    async def claim(self, limit: int) -> list[_Claimed]:
        now = utcnow()
        earlier = aliased(OutboundMessage)
        head_of_conversation = ~exists().where(
            earlier.conversation_id == OutboundMessage.conversation_id,
            earlier.id < OutboundMessage.id,
            earlier.status.in_(("pending", "sending")),
        )
        channels = self.channels.channels()
        candidates = (
            select(OutboundMessage.id)
            .where(
                OutboundMessage.status == "pending",
                OutboundMessage.channel.in_(channels),
                or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
                head_of_conversation,
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        claimed: list[_Claimed] = []
        lease = now + timedelta(seconds=self.lease_seconds)
        async with self.gate.transaction() as session:
            for row_id in session.scalars(candidates).all():
                result = session.execute(
                    update(OutboundMessage)
                    .where(OutboundMessage.id == row_id, OutboundMessage.status == "pending")
                    .values(status="sending", attempts=OutboundMessage.attempts + 1, lease_expires_at=lease)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                row = session.execute(
                    select(OutboundMessage, Conversation)
                    .join(Conversation, Conversation.id == OutboundMessage.conversation_id)
                    .where(OutboundMessage.id == row_id)
                ).one()
                outbound, conversation = row
                claimed.append(_Claimed(
                    row_id=outbound.id,
                    conversation_id=conversation.id,
                    channel=outbound.channel,
                    attempts=outbound.attempts,
                    platform_user_id=self.crypto.decrypt(conversation.platform_user_id_encrypted),
                    payload=self.crypto.decrypt_json(outbound.payload_encrypted),
                ))
        return claimed

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            claimed: list[_Claimed] = []
            try:
                if time.monotonic() - self._last_recovery > RECOVERY_INTERVAL_SECONDS:
                    await self.recover_abandoned()
                free = self.concurrency - len(self._active)
                claimed = await self.claim(free) if free > 0 else []
                for item in claimed:
                    self._active[item.row_id] = asyncio.create_task(self._deliver(item))
            except Exception:
                log.exception("delivery worker loop error")
            if claimed and len(self._active) < self.concurrency:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        delay = min(self.retry_max, self.retry_base * (2 ** max(0, attempts - 1)))
        delay = delay / 2 + random.uniform(0, delay / 2)
        if retry_after is not None:
            delay = max(delay, retry_after + random.uniform(0, 0.1 * max(retry_after, 0.1)))
        return delay

    async def _deliver(self, item: _Claimed) -> None:
        try:
            sender = self.channels.get(item.channel)
            if sender is None:
                result = SendResult.transient(f"channel {item.channel} is not configured")
            else:
                await self.recipient_buckets.bucket(item.conversation_id).acquire()
                await self.global_bucket.acquire()
                try:
                    result = await sender.send(item.platform_user_id, item.payload)
                except Exception as exc:  # a sender bug must not wedge the row in sending
                    log.exception("channel sender %s raised", item.channel)
                    result = SendResult.transient(f"{type(exc).__name__}: {exc}")
            await self._record(item, result)
        finally:
            self._active.pop(item.row_id, None)
            self._wake.set()

    async def _record(self, item: _Claimed, result: SendResult) -> None:
        for attempt in range(5):  # marking sent must not be lost to a brief database error
            try:
                async with self.gate.transaction() as session:
                    row = session.get(OutboundMessage, item.row_id)
                    if row is None or row.status != "sending":
                        return
                    row.lease_expires_at = None
                    if result.ok:
                        row.status = "sent"
                        row.sent_at = utcnow()
                        row.last_error = None
                    elif result.permanent or row.attempts >= self.max_attempts:
                        row.status = "failed"
                        row.last_error = (result.error or "failed")[:500]
                        log.warning("outbound %s failed permanently after %d attempt(s): %s",
                                    row.id, row.attempts, row.last_error)
                    else:
                        row.status = "pending"
                        row.last_error = (result.error or "retry")[:500]
                        row.next_attempt_at = utcnow() + timedelta(
                            seconds=self.retry_delay(row.attempts, result.retry_after))
                return
            except Exception:
                log.exception("could not record delivery of outbound %s", item.row_id)
                await asyncio.sleep(0.2 * (attempt + 1))


__all__ = ["DeliveryWorker"]
