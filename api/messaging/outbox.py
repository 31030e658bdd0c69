"""Writing replies to the outbox; the delivery worker sends them."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from api.db.after_commit import call_after_commit
from api.db.base import utcnow
from api.logs import current_request_id
from api.messaging.models import (
    OUTBOUND_SOURCES,
    Conversation,
    ConversationState,
    Lane,
    OutboundMessage,
    OutboundStatus,
)
from api.messaging.risk import Risk
from api.messaging.senders import split_payload_for_channel
from api.security.crypto import Crypto

# Called after a commit that added outbox rows (the delivery worker's wake-up). Set by the app.
_outbox_listeners: list[Callable[[], None]] = []


def add_outbox_listener(listener: Callable[[], None]) -> None:
    _outbox_listeners.append(listener)


def remove_outbox_listener(listener: Callable[[], None]) -> None:
    if listener in _outbox_listeners:
        _outbox_listeners.remove(listener)


def notify_outbox() -> None:
    """Wake the delivery worker (harmless if nothing is pending)."""
    for listener in list(_outbox_listeners):
        listener()


# The lane of a row when the caller does not name one: counselors' words go first, campaigns last.
DEFAULT_LANES = {"counselor": Lane.SAFETY, "broadcast": Lane.BROADCAST, "bot": Lane.REPLY, "system": Lane.REPLY}


def reply_lane(conversation: Conversation, risk: Risk | None) -> Lane:
    """The safety lane for a reply to a message read at concern or above (or asking for a person),
    and for every reply while the conversation waits for a counselor; otherwise the reply lane."""
    if (risk is not None and risk.needs_case) or conversation.state == ConversationState.WAITING:
        return Lane.SAFETY
    return Lane.REPLY


def enqueue(
    session: Session,
    conversation: Conversation,
    payloads: Iterable[dict[str, Any]],
    source: str,
    *,
    idempotency_prefix: str | None = None,
    crypto: Crypto,
    lane: Lane | None = None,
) -> list[OutboundMessage]:
    """Queue payloads ({"text", "buttons", "image", ...}) for this conversation, in order.

    `lane` (default by source, see DEFAULT_LANES) decides what goes first when the outbox is busy:
    the delivery worker sends safety replies, then replies, then broadcasts; a conversation's rows
    keep their order within a lane.

    Texts longer than the channel allows are split into several rows here, so each row is exactly
    one platform message and a retry never re-sends a part that already went out.
    `idempotency_prefix` makes re-running the same work a no-op (e.g. "inbound:42").
    """
    if source not in OUTBOUND_SOURCES:
        raise ValueError(f"unknown outbound source {source!r}")
    prefix = idempotency_prefix or f"{source}:{uuid.uuid4().hex}"
    lane = DEFAULT_LANES[source] if lane is None else lane
    rows: list[OutboundMessage] = []
    now = utcnow()
    request_id = current_request_id()  # the message being answered, or the console request
    index = 0
    for payload in payloads:
        for part in split_payload_for_channel(conversation.channel, payload):
            row = OutboundMessage(
                conversation_id=conversation.id,
                channel=conversation.channel,
                payload_encrypted=crypto.encrypt_json(part),
                source=source,
                lane=int(lane),
                status=OutboundStatus.PENDING,
                attempts=0,
                idempotency_key=f"{prefix}:{index}",
                request_id=request_id,
                created_at=now,
            )
            index += 1
            session.add(row)
            rows.append(row)
    if rows:
        session.flush()
        # Wake delivery once this transaction commits (not before: the rows must be visible).
        call_after_commit(session, notify_outbox)
    return rows
