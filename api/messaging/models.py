"""Conversations, the inbound queue and the outbox: the durable message path.

Nothing here stores a raw platform user id or message text in clear: the platform id needed to
reply and all text are Fernet-encrypted; the sender id is a pseudonymous HMAC.
"""
from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ConversationState(StrEnum):
    """Who answers the child: the bot, nobody yet (waiting for a counselor), a counselor."""

    BOT = "bot"
    WAITING = "waiting"
    COUNSELOR = "counselor"
    CLOSED = "closed"


class InboundStatus(StrEnum):
    """Where a stored user message is in the pipeline."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class Lane(IntEnum):
    """Outbox lanes, sent in this order: a child's safety reply never waits behind a broadcast."""

    SAFETY = 0  # replies in a conversation at risk (concern or above), counselors, case notices
    REPLY = 1  # every other reply
    BROADCAST = 2  # campaign messages, paced (DELIVERY_BROADCAST_SHARE)


class OutboundStatus(StrEnum):
    """Where an outbox row is in delivery."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


CONVERSATION_STATES = tuple(member.value for member in ConversationState)
INBOUND_KINDS = ("text", "button", "sticker", "photo", "voice", "document", "follow", "unfollow", "other")
INBOUND_STATUSES = tuple(member.value for member in InboundStatus)
OUTBOUND_SOURCES = ("bot", "counselor", "system", "broadcast")
OUTBOUND_STATUSES = tuple(member.value for member in OutboundStatus)


class Conversation(Base):
    """One person on one channel. `state` says who answers: the bot, nobody yet, or a counselor."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64), unique=True)  # "<channel>:<hmac>"
    platform_user_id_encrypted: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="bot", server_default="bot")
    last_user_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboundMessage(Base):
    """A stored user event. The webhook answers 200 only after this row is committed."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_key", name="uq_inbound_messages_channel_key"),
        Index("ix_inbound_messages_status_due", "status", "next_attempt_at"),
        Index("ix_inbound_messages_conversation_order", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_message_key: Mapped[str] = mapped_column(String(128))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    text_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Channel details the pipeline needs (message id, callback id...), never raw user ids.
    message_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fallback_sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # GatewayInstance.id
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The webhook's request id (X-Request-ID or made up): ties the worker's and delivery's logs to it.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboundMessage(Base):
    """The outbox: one row per platform message to send, delivered at most once when marked sent."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_status_due", "status", "next_attempt_at"),
        Index("ix_outbound_messages_conversation_order", "conversation_id", "id"),
        Index("ix_outbound_messages_status_lane", "status", "lane", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    payload_encrypted: Mapped[str] = mapped_column(Text)  # JSON {text, buttons, image, ...}
    source: Mapped[str] = mapped_column(String(16))
    # The request id of the message this row answers (or of the console request that wrote it).
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lane: Mapped[int] = mapped_column(SmallInteger, default=Lane.REPLY, server_default=str(int(Lane.REPLY)))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # GatewayInstance.id
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GatewayInstance(Base):
    """A running gateway process and its last heartbeat. The claims of a process whose heartbeat
    stopped (killed, host lost) are taken back by the others within seconds (api/messaging/instances.py)."""

    __tablename__ = "gateway_instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
