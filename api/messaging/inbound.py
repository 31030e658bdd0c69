"""Storing inbound user events durably and exactly once (dedupe on the platform's message key)."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.logs import current_request_id
from api.messaging.models import INBOUND_KINDS, Conversation, ConversationState, InboundMessage, InboundStatus
from api.security.crypto import Crypto

log = logging.getLogger(__name__)

# Longest text kept from one inbound message (Telegram's own limit; Zalo's is lower). A longer text,
# which only a forged or future platform event could carry, is stored cut to this length with
# `truncated_from_chars` in its metadata, so the conversation goes on and the intake screen and Rasa
# never work on an unbounded string. The web chat refuses such a message instead (its page says why).
MAX_INBOUND_TEXT_CHARS = 4096


def clip_inbound_text(text: str | None) -> str | None:
    return text[:MAX_INBOUND_TEXT_CHARS] if text is not None else None


def get_or_create_conversation(
    session: Session, *, channel: str, platform_user_id: str, crypto: Crypto
) -> Conversation:
    """The conversation for this person on this channel, created on first contact."""
    sender_id = crypto.pseudonymous_id(channel, platform_user_id)
    conversation = session.scalar(select(Conversation).where(Conversation.sender_id == sender_id))
    if conversation is not None:
        return conversation
    conversation = Conversation(
        channel=channel,
        sender_id=sender_id,
        platform_user_id_encrypted=crypto.encrypt(platform_user_id),
        state=ConversationState.BOT,
    )
    try:
        with session.begin_nested():
            session.add(conversation)
    except IntegrityError:
        # Another process created it between our select and insert.
        existing = session.scalar(select(Conversation).where(Conversation.sender_id == sender_id))
        if existing is None:
            raise
        return existing
    return conversation


def accept_inbound(
    session: Session,
    *,
    channel: str,
    platform_user_id: str,
    platform_message_key: str,
    kind: str,
    text: str | None,
    metadata: dict[str, Any] | None = None,
    crypto: Crypto,
) -> InboundMessage | None:
    """Store one user event as pending work. Returns None when this key was already stored.

    The caller commits; the webhook answers 200 only after the commit. The row keeps the request id
    bound by the webhook's request (api/logs.py), so the worker's and delivery's logs carry it.
    """
    if kind not in INBOUND_KINDS:
        raise ValueError(f"unknown inbound kind {kind!r}")
    duplicate = session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.channel == channel, InboundMessage.platform_message_key == platform_message_key
        )
    )
    if duplicate is not None:
        return None
    conversation = get_or_create_conversation(
        session, channel=channel, platform_user_id=platform_user_id, crypto=crypto
    )
    metadata = dict(metadata or {})
    if text is not None and len(text) > MAX_INBOUND_TEXT_CHARS:
        metadata["truncated_from_chars"] = len(text)
        text = clip_inbound_text(text)
    now = utcnow()
    inbound = InboundMessage(
        channel=channel,
        platform_message_key=platform_message_key,
        conversation_id=conversation.id,
        kind=kind,
        text_encrypted=crypto.encrypt(text) if text is not None else None,
        message_metadata=metadata,
        status=InboundStatus.PENDING,
        attempts=0,
        fallback_sent=False,
        received_at=now,
        request_id=current_request_id(),
    )
    try:
        with session.begin_nested():
            session.add(inbound)
    except IntegrityError:
        # A concurrent delivery of the same update won the unique constraint.
        return None
    conversation.last_user_message_at = now
    return inbound
