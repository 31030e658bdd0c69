"""Helpline operations: the on-call roster, how each new case's alert was routed, and the child's
answer to the after-chat question. No message text and no platform ids in any of them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow

SHIFT_KINDS = ("weekly", "extra", "off")  # weekly pattern; dated extra shift; dated time off
ALERT_STAGES = ("on_call", "supervisor", "everyone")
FEEDBACK_ANSWERS = ("helped", "somewhat", "not_helped")


class RosterShift(Base):
    """One block of on-call time: weekly (weekday 0 = Monday) or dated (extra, off); local clock."""

    __tablename__ = "roster_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="weekly")
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)
    day: Mapped[date | None] = mapped_column(Date, default=None)
    starts: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    ends: Mapped[str] = mapped_column(String(5))  # "HH:MM"; "24:00" ends the day; before starts = overnight


class OnCallContact(Base):
    """Where a person on call gets Telegram alerts (a private chat with the bot); optional."""

    __tablename__ = "oncall_contacts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    telegram_chat_id: Mapped[str] = mapped_column(String(64), default="")


class CaseAlertRoute(Base):
    """How far a new case's alert has gone: on call first, then the supervisor, then everyone."""

    __tablename__ = "case_alert_routes"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    on_call_user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    routed_at: Mapped[datetime] = mapped_column(default=utcnow)
    supervisor_at: Mapped[datetime | None] = mapped_column(default=None)
    everyone_at: Mapped[datetime | None] = mapped_column(default=None)


class CaseFeedback(Base):
    """The after-chat question of one case (asked at most once) and the child's answer code."""

    __tablename__ = "case_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(String(16), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
