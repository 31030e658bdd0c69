"""Broadcasts to opted-in subscribers through the outbox (source "broadcast").

Channel rules: the delivery worker applies Telegram's rate limits to every outbox row; on Zalo only
users who wrote within the reply window (7 days) can be reached, so the others are skipped here.
Someone talking with a counselor is skipped too: a campaign message must not cut into that.

Dispatch (the scheduler, api/content/setup.py) goes in batches of BROADCAST_BATCH_SIZE subscribers:
each batch is read and written in one short step (the text is encrypted once per channel, not once
per recipient), with the event loop free in between, so replies never wait for a whole broadcast to
be queued. A broadcast stays
"sending" until every subscriber is reached; a process stopped half-way leaves it so, and the next
scheduler round (in any process) carries on with the subscribers not yet reached, never twice.
Broadcast rows go in the outbox's last lane (see api/messaging/delivery.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from api.content.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus, Quiz, Subscriber
from api.db.after_commit import call_after_commit
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState, Lane, OutboundMessage, OutboundStatus
from api.messaging.outbox import notify_outbox
from api.messaging.senders import split_payload_for_channel
from api.security.crypto import Crypto

CHANNELS = ("telegram", "zalo", "web")
BATCH = 200


class BroadcastError(ValueError):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC datetimes back
        return moment.replace(tzinfo=UTC)
    return moment


def payload_of(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    buttons = list(broadcast.buttons or [])
    if broadcast.quiz_id is not None and session.get(Quiz, broadcast.quiz_id) is not None:
        buttons.append({"title": "🎯 Chơi đố vui", "payload": f"/quiz {broadcast.quiz_id}"})
    payload: dict[str, Any] = {"text": broadcast.text}
    if buttons:
        payload["buttons"] = buttons
    return payload


def start(broadcast: Broadcast, now: datetime | None = None) -> None:
    """Mark the broadcast as sending; the scheduler dispatches it (see `dispatch`)."""
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = broadcast.started_at or now or utcnow()


@dataclass
class Batch:
    """The next recipients of a broadcast, prepared outside any write transaction."""

    broadcast_id: int
    status: str
    outbound: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.deliveries


def _skip_reason(conversation: Any, window_start: datetime) -> str | None:
    """Why this conversation (id, channel, state, last_user_message_at) gets no broadcast, if it does not."""
    if conversation.state in (ConversationState.COUNSELOR, ConversationState.WAITING):
        return "with_counselor"
    if conversation.channel == "zalo":
        last = _aware(conversation.last_user_message_at)
        if last is None or last < window_start:
            return "outside_zalo_window"
    return None


def next_batch(session: Session, broadcast_id: int, crypto: Crypto, *, size: int = BATCH,
               zalo_window_days: int = 7, now: datetime | None = None) -> Batch:
    """Read up to `size` subscribers not yet reached and build their outbox and delivery rows
    (read only; write it with `write_batch`)."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return Batch(broadcast_id, BroadcastStatus.CANCELLED)
    batch = Batch(broadcast_id, broadcast.status)
    if broadcast.status != BroadcastStatus.SENDING:
        return batch
    now = now or utcnow()
    reached = select(BroadcastDelivery.conversation_id).where(BroadcastDelivery.broadcast_id == broadcast_id)
    # Plain rows, not ORM objects: a batch leaves little garbage for the collector to walk.
    rows = session.execute(
        select(Conversation.id, Conversation.channel, Conversation.state, Conversation.last_user_message_at)
        .join(Subscriber, Subscriber.conversation_id == Conversation.id)
        .where(Subscriber.subscribed.is_(True), Subscriber.channel.in_(broadcast.channels),
               Subscriber.conversation_id.not_in(reached))
        .order_by(Subscriber.id)
        .limit(size)
    ).all()
    payload = payload_of(session, broadcast)
    # The same campaign text for everyone: encrypted once per channel, not once per recipient.
    encrypted: dict[str, list[str]] = {}
    window_start = now - timedelta(days=zalo_window_days)
    for conversation in rows:
        skip = _skip_reason(conversation, window_start)
        batch.deliveries.append({"broadcast_id": broadcast_id, "conversation_id": conversation.id,
                                 "channel": conversation.channel, "skip_reason": skip, "created_at": now,
                                 "status": DeliveryStatus.SKIPPED if skip else DeliveryStatus.QUEUED})
        if skip:
            continue
        parts = encrypted.get(conversation.channel)
        if parts is None:
            parts = encrypted[conversation.channel] = [
                crypto.encrypt_json(part) for part in split_payload_for_channel(conversation.channel, payload)]
        for index, part in enumerate(parts):
            batch.outbound.append({
                "conversation_id": conversation.id, "channel": conversation.channel, "payload_encrypted": part,
                "source": "broadcast", "lane": int(Lane.BROADCAST), "status": OutboundStatus.PENDING,
                "attempts": 0, "created_at": now,
                "idempotency_key": f"broadcast:{broadcast_id}:{conversation.id}:{index}"})
    return batch


def write_batch(session: Session, batch: Batch, *, notify: bool = True) -> int:
    """Insert a prepared batch in this (short) transaction unless the broadcast was cancelled
    meanwhile; returns how many rows were queued. The unique keys (one delivery per conversation,
    one outbox row per idempotency key) make a batch written twice fail instead of sending twice.
    `notify`: wake the delivery worker after the commit (only from the loop's thread)."""
    status = session.execute(select(Broadcast.status).where(Broadcast.id == batch.broadcast_id)
                             .with_for_update()).scalar_one_or_none()
    if status != BroadcastStatus.SENDING or batch.empty:
        return 0
    first_row: dict[int, int] = {}
    if batch.outbound:
        outbox = cast(Table, OutboundMessage.__table__)
        inserted = session.connection().execute(
            insert(outbox).returning(outbox.c.id, outbox.c.conversation_id), batch.outbound)
        for row_id, conversation_id in inserted:
            first_row[conversation_id] = min(row_id, first_row.get(conversation_id, row_id))
        if notify:
            call_after_commit(session, notify_outbox)
    deliveries = [{**d, "outbound_message_id": first_row.get(d["conversation_id"])} for d in batch.deliveries]
    session.connection().execute(insert(cast(Table, BroadcastDelivery.__table__)), deliveries)
    return len(first_row)


def finish(session: Session, broadcast_id: int, now: datetime | None = None) -> None:
    """Every subscriber was reached: the broadcast is done (unless it was cancelled meanwhile)."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is not None and broadcast.status == BroadcastStatus.SENDING:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = now or utcnow()


def sending(session: Session) -> list[int]:
    """Broadcasts being dispatched (also those a stopped process left half-way)."""
    return list(session.scalars(select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING)
                                .order_by(Broadcast.id)))


def cancel(session: Session, broadcast: Broadcast) -> int:
    """Stop a broadcast: nothing more is queued and messages not yet sent are withdrawn."""
    if broadcast.status == BroadcastStatus.CANCELLED:
        raise BroadcastError("Tin này đã huỷ rồi. / Already cancelled.", status=409)
    broadcast.status = BroadcastStatus.CANCELLED
    pending_ids = select(BroadcastDelivery.outbound_message_id).where(
        BroadcastDelivery.broadcast_id == broadcast.id, BroadcastDelivery.outbound_message_id.is_not(None))
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(pending_ids), OutboundMessage.status == OutboundStatus.PENDING)
        .values(status=OutboundStatus.FAILED, last_error="broadcast cancelled")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def due(session: Session, now: datetime | None = None) -> list[Broadcast]:
    now = now or utcnow()
    scheduled = session.scalars(select(Broadcast).where(Broadcast.status == BroadcastStatus.SCHEDULED)).all()
    return [b for b in scheduled if (_aware(b.scheduled_at) or now) <= now]


def progress(session: Session, broadcast: Broadcast) -> dict[str, int]:
    """Delivery counts (no ids): queued, sent, failed, skipped and the total reached."""
    counts = {"total": 0, "queued": 0, "sent": 0, "failed": 0, "skipped": 0}
    skipped = session.execute(select(BroadcastDelivery.skip_reason, func.count())
                              .where(BroadcastDelivery.broadcast_id == broadcast.id,
                                     BroadcastDelivery.status == DeliveryStatus.SKIPPED)
                              .group_by(BroadcastDelivery.skip_reason)).all()
    counts["skipped"] = sum(n for _, n in skipped)
    for status, n in session.execute(
        select(OutboundMessage.status, func.count())
        .join(BroadcastDelivery, BroadcastDelivery.outbound_message_id == OutboundMessage.id)
        .where(BroadcastDelivery.broadcast_id == broadcast.id)
        .group_by(OutboundMessage.status)
    ):
        key = {"pending": "queued", "sending": "queued"}.get(status, status)
        counts[key] = counts.get(key, 0) + n
    counts["total"] = counts["queued"] + counts["sent"] + counts["failed"] + counts["skipped"]
    counts["skipped_by_reason"] = dict(skipped)  # type: ignore[assignment]
    return counts


def broadcast_out(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    return {"id": broadcast.id, "title": broadcast.title, "text": broadcast.text, "buttons": broadcast.buttons,
            "channels": broadcast.channels, "quiz_id": broadcast.quiz_id, "status": broadcast.status,
            "scheduled_at": _iso(broadcast.scheduled_at), "created_by": broadcast.created_by,
            "created_at": _iso(broadcast.created_at), "started_at": _iso(broadcast.started_at),
            "finished_at": _iso(broadcast.finished_at), "progress": progress(session, broadcast)}


def _iso(moment: datetime | None) -> str | None:
    moment = _aware(moment)
    return moment.isoformat() if moment else None
