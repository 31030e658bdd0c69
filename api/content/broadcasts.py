"""Broadcasts to opted-in subscribers through the outbox (source "broadcast").

Channel rules: the delivery worker applies Telegram's rate limits to every outbox row; on Zalo only
users who wrote within the reply window (7 days) can be reached, so the others are skipped here.
Someone talking with a counselor is skipped too: a campaign message must not cut into that.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.content.models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus, Quiz, Subscriber
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState, OutboundMessage, OutboundStatus
from api.messaging.outbox import enqueue
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


def dispatch(session: Session, broadcast: Broadcast, crypto: Crypto, *, zalo_window_days: int = 7,
             now: datetime | None = None) -> int:
    """Queue the broadcast for every current subscriber of its channels not yet reached; returns
    how many rows were queued. Re-running it is harmless (one delivery per conversation)."""
    if broadcast.status == BroadcastStatus.CANCELLED:
        return 0
    now = now or utcnow()
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = broadcast.started_at or now
    payload = payload_of(session, broadcast)
    reached = select(BroadcastDelivery.conversation_id).where(BroadcastDelivery.broadcast_id == broadcast.id)
    rows = session.execute(
        select(Subscriber, Conversation)
        .join(Conversation, Conversation.id == Subscriber.conversation_id)
        .where(Subscriber.subscribed.is_(True), Subscriber.channel.in_(broadcast.channels),
               Subscriber.conversation_id.not_in(reached))
        .order_by(Subscriber.id)
    ).all()
    queued = 0
    window_start = now - timedelta(days=zalo_window_days)
    for _subscriber, conversation in rows:
        skip = None
        if conversation.state in (ConversationState.COUNSELOR, ConversationState.WAITING):
            skip = "with_counselor"
        elif conversation.channel == "zalo":
            last = _aware(conversation.last_user_message_at)
            if last is None or last < window_start:
                skip = "outside_zalo_window"
        delivery = BroadcastDelivery(broadcast_id=broadcast.id, conversation_id=conversation.id,
                                     channel=conversation.channel,
                                     status=DeliveryStatus.SKIPPED if skip else DeliveryStatus.QUEUED,
                                     skip_reason=skip)
        if not skip:
            outbound = enqueue(session, conversation, [payload], "broadcast",
                               idempotency_prefix=f"broadcast:{broadcast.id}:{conversation.id}", crypto=crypto)
            delivery.outbound_message_id = outbound[0].id if outbound else None
            queued += 1
        session.add(delivery)
    broadcast.status = BroadcastStatus.DONE
    broadcast.finished_at = now
    return queued


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
