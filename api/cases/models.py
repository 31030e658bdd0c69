"""Cases: what a child disclosed, who is on it, and the notifications it owes.

Text (messages, notes, excerpts) is Fernet-encrypted; a case is tied to the pseudonymous sender id,
never to a platform user id.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class CaseStatus(StrEnum):
    """open: logged, the bot handles it; waiting: a counselor is needed; active: a counselor holds it."""

    OPEN = "open"
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


class NotificationStatus(StrEnum):
    """Where a staff notification is in its sending."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


CASE_STATUSES = tuple(member.value for member in CaseStatus)
OUTCOMES = ("advised", "referred_111", "referred_police_local", "closed")
MESSAGE_AUTHORS = ("child", "bot", "counselor", "system")
NOTIFICATION_KINDS = ("new_case", "level_up", "reminder", "supervisor_alert", "accepted")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_conversation_status", "conversation_id", "status"),
        Index("ix_cases_status_rank", "status", "level_rank"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[str] = mapped_column(String(64))  # pseudonymous "<channel>:<hmac>"
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    level: Mapped[str] = mapped_column(String(16), default="concern")
    level_rank: Mapped[int] = mapped_column(Integer, default=1)  # for sorting; only goes up
    category: Mapped[str | None] = mapped_column(String(64), default=None)
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    counselor_requested: Mapped[bool] = mapped_column(default=False)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                         default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_user_message_at: Mapped[datetime | None] = mapped_column(default=None)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(default=None)
    supervisor_alerted_at: Mapped[datetime | None] = mapped_column(default=None)


class CaseMessage(Base):
    __tablename__ = "case_messages"
    __table_args__ = (
        UniqueConstraint("case_id", "inbound_message_id", name="uq_case_messages_case_inbound"),
        Index("ix_case_messages_case_order", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    inbound_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    text_encrypted: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str | None] = mapped_column(String(16), default=None)
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseNote(Base):
    """Counselor notes, hand-back notes, transfer and closing notes (staff only)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    kind: Mapped[str] = mapped_column(String(16), default="note")  # note | handback | close | transfer
    text_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Outbox of alerts to the on-call Telegram group; written with the case, sent after commit."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    target: Mapped[str] = mapped_column(String(24), default="telegram_group")
    # {"level", "category", "excerpt_encrypted", ...}: no platform ids, text encrypted.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
