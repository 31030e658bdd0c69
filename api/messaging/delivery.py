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
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.logs import bind_request_id
from api.messaging.leases import LeasedWorker
from api.messaging.models import Conversation, OutboundMessage, OutboundStatus
from api.messaging.ratelimit import KeyedBuckets, TokenBucket
from api.messaging.senders import ChannelRegistry, SendResult
from api.metrics import GatewayMetrics
from api.security.crypto import Crypto
from api.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Claimed:
    row_id: int
    conversation_id: int
    channel: str
    attempts: int
    platform_user_id: str
    payload: dict[str, Any]
    request_id: str | None = None


class DeliveryWorker(LeasedWorker[_Claimed]):
    def __init__(self, gate: WriteGate, channels: ChannelRegistry, crypto: Crypto, settings: Settings,
                 metrics: GatewayMetrics | None = None) -> None:
        super().__init__(gate, OutboundMessage, "sending", settings,
                         concurrency=max(4, settings.worker_concurrency * 2), name="delivery", log=log)
        self.channels = channels
        self.crypto = crypto
        self.metrics = metrics or GatewayMetrics()
        self.max_attempts = max(1, settings.outbox_max_attempts)
        self.retry_base = settings.outbox_retry_base_seconds
        self.retry_max = settings.outbox_retry_max_seconds
        self.global_bucket = TokenBucket(settings.delivery_global_rate_per_second,
                                         burst=max(1.0, settings.delivery_global_rate_per_second))
        self.recipient_buckets = KeyedBuckets(settings.delivery_per_recipient_rate_per_second,
                                              burst=settings.delivery_per_recipient_burst)

    async def recover_abandoned(self) -> int:
        """Sends whose lease ran out go back to pending (retried: a duplicate beats a lost message)."""
        count = await self._recover()
        if count:
            log.warning("recovered %d outbound message(s) left in sending", count)
        return count

    async def claim(self, limit: int) -> list[_Claimed]:
        """Claim up to `limit` rows of configured channels, each the oldest unfinished one of its
        conversation, with what sending needs (decrypted)."""
        channels = self.channels.channels()
        return await self._claim(limit, OutboundMessage.channel.in_(channels), load=self._load)

    def _load(self, session: Session, row_id: int) -> _Claimed:
        outbound, conversation = session.execute(
            select(OutboundMessage, Conversation)
            .join(Conversation, Conversation.id == OutboundMessage.conversation_id)
            .where(OutboundMessage.id == row_id)
        ).one()
        return _Claimed(
            row_id=outbound.id,
            conversation_id=conversation.id,
            channel=outbound.channel,
            attempts=outbound.attempts,
            platform_user_id=self.crypto.decrypt(conversation.platform_user_id_encrypted),
            payload=self.crypto.decrypt_json(outbound.payload_encrypted),
            request_id=outbound.request_id,
        )

    def _row_id(self, item: _Claimed) -> int:
        return item.row_id

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        delay = min(self.retry_max, self.retry_base * (2 ** max(0, attempts - 1)))
        delay = delay / 2 + random.uniform(0, delay / 2)
        if retry_after is not None:
            delay = max(delay, retry_after + random.uniform(0, 0.1 * max(retry_after, 0.1)))
        return delay

    async def _handle(self, item: _Claimed) -> None:
        bind_request_id(item.request_id)  # this task's logs carry the id of the message answered
        sender = self.channels.get(item.channel)
        if sender is None:
            result = SendResult.transient(f"channel {item.channel} is not configured")
            self.metrics.delivery_failures.labels(item.channel, "not_configured").inc()
        else:
            await self.recipient_buckets.bucket(item.conversation_id).acquire()
            await self.global_bucket.acquire()
            try:
                result = await sender.send(item.platform_user_id, item.payload)
            except Exception as exc:  # a sender bug must not wedge the row in sending
                log.exception("channel sender %s raised", item.channel)
                self.metrics.delivery_failures.labels(item.channel, "sender_error").inc()
                result = SendResult.transient(f"{type(exc).__name__}: {exc}")
        await self._record(item, result)

    async def _record(self, item: _Claimed, result: SendResult) -> None:
        for attempt in range(5):  # marking sent must not be lost to a brief database error
            try:
                async with self.gate.transaction() as session:
                    row = session.get(OutboundMessage, item.row_id)
                    if row is None or row.status != OutboundStatus.SENDING:
                        return
                    row.lease_expires_at = None
                    outcome = self._outcome(result, row.attempts)
                    if result.ok:
                        row.status = OutboundStatus.SENT
                        row.sent_at = utcnow()
                        row.last_error = None
                        log.info("outbound sent", extra={"outbound_id": row.id, "channel": item.channel,
                                                         "attempt": row.attempts})
                    elif outcome != "retry":
                        row.status = OutboundStatus.FAILED
                        row.last_error = (result.error or "failed")[:500]
                        log.warning("outbound %s failed permanently after %d attempt(s): %s",
                                    row.id, row.attempts, row.last_error)
                    else:
                        row.status = OutboundStatus.PENDING
                        row.last_error = (result.error or "retry")[:500]
                        row.next_attempt_at = utcnow() + timedelta(
                            seconds=self.retry_delay(row.attempts, result.retry_after))
                self._count(item.channel, outcome)
                return
            except Exception:
                log.exception("could not record delivery of outbound %s", item.row_id)
                await asyncio.sleep(0.2 * (attempt + 1))


    def _outcome(self, result: SendResult, attempts: int) -> str:
        """sent | permanent | gave_up | retry: what this attempt's result means for the row."""
        if result.ok:
            return "sent"
        if result.permanent:
            return "permanent"
        return "gave_up" if attempts >= self.max_attempts else "retry"

    def _count(self, channel: str, outcome: str) -> None:
        if outcome == "sent":
            self.metrics.messages_out.labels(channel).inc()
        else:
            self.metrics.delivery_failures.labels(channel, outcome).inc()


__all__ = ["DeliveryWorker"]
