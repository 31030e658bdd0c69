"""The delivery worker: sends outbox rows through the channel senders.

Each row is claimed with an atomic update (pending → sending) and marked sent after the platform
accepted it, so a row marked sent is never sent again. A conversation's rows go out in order (the
oldest unfinished row of a conversation is the only one that may be sent). Transient errors (429,
5xx, timeouts) are retried with exponential backoff and jitter, at least the platform's retry_after;
permanent errors and rows past OUTBOX_MAX_ATTEMPTS are recorded as failed.

Lanes (`Lane`): rows are claimed by lane, then oldest first, so a safety reply (risk at concern or
above, counselors, case notices) goes before ordinary replies and both before broadcasts; a
conversation's rows keep their order within a lane. Tokens of the global rate go to the best lane
waiting; broadcast rows hold at most half of the worker's slots (replies always find one free), and
while replies wait to be sent broadcasts get at most DELIVERY_BROADCAST_SHARE of the global rate.

A process that dies between the platform call and marking the row sent leaves it in sending; the
row goes back to pending once its process stops beating (api/messaging/instances.py) or its lease
expires, and is retried (a possible duplicate is preferred to a lost safety message).
"""
from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.logs import bind_request_id
from api.messaging.leases import LeasedWorker
from api.messaging.models import Conversation, Lane, OutboundMessage, OutboundStatus
from api.messaging.ratelimit import KeyedBuckets, PriorityTokenBucket, SharedRate, TokenBucket
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
    lane: int
    platform_user_id: str
    payload: dict[str, Any]
    request_id: str | None = None


class DeliveryWorker(LeasedWorker[_Claimed]):
    def __init__(self, gate: WriteGate, channels: ChannelRegistry, crypto: Crypto, settings: Settings,
                 *, metrics: GatewayMetrics | None = None, instance_id: str | None = None) -> None:
        super().__init__(gate, OutboundMessage, "sending", settings,
                         concurrency=max(4, settings.worker_concurrency * 2), name="delivery", log=log,
                         instance_id=instance_id)
        self.channels = channels
        self.crypto = crypto
        self.metrics = metrics or GatewayMetrics()
        self.max_attempts = max(1, settings.outbox_max_attempts)
        self.retry_base = settings.outbox_retry_base_seconds
        self.retry_max = settings.outbox_retry_max_seconds
        rate = settings.delivery_global_rate_per_second
        self.global_bucket = PriorityTokenBucket(rate, burst=max(1.0, rate))
        self.recipient_buckets = KeyedBuckets(settings.delivery_per_recipient_rate_per_second,
                                              burst=settings.delivery_per_recipient_burst)
        share = min(1.0, max(0.0, settings.delivery_broadcast_share))
        self.broadcast_bucket = TokenBucket(rate * share, burst=1.0)
        # The same rates across gateway replicas (Redis); without it each process keeps its own.
        shared = settings.limits_storage_uri
        self.shared_global = SharedRate(shared, rate, max(1.0, rate), "delivery-all")
        self.shared_recipient = SharedRate(shared, settings.delivery_per_recipient_rate_per_second,
                                           settings.delivery_per_recipient_burst, "delivery-recipient")
        self.shared_broadcast = SharedRate(shared, rate * share, 1.0, "delivery-broadcast")
        self.broadcast_slots = max(1, self.concurrency // 2)
        self._broadcasts_claimed: set[int] = set()
        self._replies_claimed: set[int] = set()

    async def recover_abandoned(self) -> int:
        """Sends whose lease ran out go back to pending (retried: a duplicate beats a lost message)."""
        count = await self._recover()
        if count:
            log.warning("recovered %d outbound message(s) left in sending", count)
        return count

    async def claim(self, limit: int) -> list[_Claimed]:
        """Claim up to `limit` rows of configured channels, each the oldest unfinished one of its
        conversation in its lane, with what sending needs (decrypted): replies first, then
        broadcast rows as long as they hold fewer than `broadcast_slots`."""
        channels = OutboundMessage.channel.in_(self.channels.channels())
        replies = await self._claim(limit, channels, OutboundMessage.lane < Lane.BROADCAST, load=self._load)
        self._replies_claimed.update(item.row_id for item in replies)
        room = min(limit - len(replies), self.broadcast_slots - len(self._broadcasts_claimed))
        broadcasts = await self._claim(room, channels, OutboundMessage.lane == Lane.BROADCAST, load=self._load)
        self._broadcasts_claimed.update(item.row_id for item in broadcasts)
        return replies + broadcasts

    def _claim_order(self) -> tuple[Any, ...]:
        return (OutboundMessage.lane, OutboundMessage.id)

    def _same_queue(self, earlier: Any) -> tuple[ColumnElement[bool], ...]:
        return (earlier.lane == OutboundMessage.lane,)

    def replies_waiting(self) -> bool:
        """Replies claimed and not sent yet: meanwhile broadcasts keep to their share of the rate."""
        return bool(self._replies_claimed)

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
            lane=outbound.lane,
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
        try:
            result = await self._send(item)
        finally:
            self._broadcasts_claimed.discard(item.row_id)
            self._replies_claimed.discard(item.row_id)
        await self._record(item, result)

    async def _send(self, item: _Claimed) -> SendResult:
        sender = self.channels.get(item.channel)
        if sender is None:
            self.metrics.delivery_failures.labels(item.channel, "not_configured").inc()
            return SendResult.transient(f"channel {item.channel} is not configured")
        await self.recipient_buckets.bucket(item.conversation_id).acquire()
        await self.shared_recipient.acquire(str(item.conversation_id))
        if item.lane == Lane.BROADCAST and self.replies_waiting():
            await self.broadcast_bucket.acquire()
            await self.shared_broadcast.acquire()
        await self.global_bucket.acquire(priority=item.lane)
        await self.shared_global.acquire()
        try:
            return await sender.send(item.platform_user_id, item.payload)
        except Exception as exc:  # a sender bug must not wedge the row in sending
            log.exception("channel sender %s raised", item.channel)
            self.metrics.delivery_failures.labels(item.channel, "sender_error").inc()
            return SendResult.transient(f"{type(exc).__name__}: {exc}")

    async def _record(self, item: _Claimed, result: SendResult) -> None:
        for attempt in range(5):  # marking sent must not be lost to a brief database error
            try:
                async with self.gate.transaction() as session:
                    row = session.get(OutboundMessage, item.row_id)
                    if row is None or row.status != OutboundStatus.SENDING or row.attempts != item.attempts:
                        return  # taken back from this process meanwhile and claimed again
                    row.lease_expires_at = None
                    row.claimed_by = None
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
