"""Tables for the content campaign staff keep current. No table here holds a platform user id;
the only message text (inbox) is Fernet-encrypted."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class VersionStatus(StrEnum):
    """A response version: live, waiting for a second person, replaced, or turned down."""

    LIVE = "live"
    PENDING = "pending"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


class InboxStatus(StrEnum):
    """An unanswered question in the content inbox."""

    NEW = "new"
    ASSIGNED = "assigned"
    PROPOSED = "proposed"
    DISMISSED = "dismissed"


class RetrainStatus(StrEnum):
    """A retrain run from the content console."""

    QUEUED = "queued"
    TRAINING = "training"
    EVALUATING = "evaluating"
    SWAPPED = "swapped"
    REFUSED = "refused"
    FAILED = "failed"


class BroadcastStatus(StrEnum):
    """A broadcast from draft to sent."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """One recipient of a broadcast."""

    QUEUED = "queued"
    SKIPPED = "skipped"


VERSION_STATUSES = tuple(member.value for member in VersionStatus)
INBOX_STATUSES = tuple(member.value for member in InboxStatus)
RETRAIN_STATUSES = tuple(member.value for member in RetrainStatus)
BROADCAST_STATUSES = tuple(member.value for member in BroadcastStatus)
DELIVERY_STATUSES = tuple(member.value for member in DeliveryStatus)
DIRECTORY_KINDS = ("child_protection_officer", "police", "health", "shelter", "school_counselling")


class ContentResponse(Base):
    """A bot response (utter_* name from domain.yml) whose text staff can edit."""

    __tablename__ = "content_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    safety_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResponseVersion(Base):
    """One saved set of variations [{text, buttons, ...}]. Exactly one version per response is live."""

    __tablename__ = "content_response_versions"
    __table_args__ = (UniqueConstraint("response_id", "version", name="uq_content_response_versions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("content_responses.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    variations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(254))
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rollback_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")


class InboxItem(Base):
    """A user message the bot could not answer well: text encrypted, sender pseudonymous."""

    __tablename__ = "content_inbox_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64))  # "<channel>:<hmac>", never a platform id
    text_encrypted: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str] = mapped_column(String(16), default="none")
    intent: Mapped[str | None] = mapped_column(String(120), nullable=True)
    confidence: Mapped[float | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    topic: Mapped[str | None] = mapped_column(String(120), nullable=True)
    proposed_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RetrainJob(Base):
    """A background retrain: train, evaluate against the running model, swap only if not worse."""

    __tablename__ = "content_retrain_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    stage: Mapped[str] = mapped_column(String(200), default="")
    model_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    candidate_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    baseline_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    log_tail: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Subscriber(Base):
    """A conversation that opted in to campaign messages."""

    __tablename__ = "content_subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    opted_out_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Quiz(Base):
    __tablename__ = "content_quizzes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{"text", "options": [str, ...], "correct": int, "explanation"}]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizSession(Base):
    """Where one conversation is in a quiz; at most one running per conversation."""

    __tablename__ = "content_quiz_sessions"
    __table_args__ = (Index("ix_content_quiz_sessions_running", "conversation_id", "finished"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    quiz_id: Mapped[int] = mapped_column(ForeignKey("content_quizzes.id", ondelete="CASCADE"))
    question_index: Mapped[int] = mapped_column(Integer, default=0)
    correct_answers: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    __tablename__ = "content_broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON)
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("content_quizzes.id", ondelete="SET NULL"),
                                                nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BroadcastDelivery(Base):
    """One recipient of a broadcast; the outbox row (source "broadcast") carries the sending state."""

    __tablename__ = "content_broadcast_deliveries"
    __table_args__ = (UniqueConstraint("broadcast_id", "conversation_id", name="uq_content_broadcast_deliveries_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("content_broadcasts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # queued | skipped
    skip_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectoryEntry(Base):
    """A place to get help. Ships with the national numbers only; staff add local entries."""

    __tablename__ = "content_directory_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    province: Mapped[str] = mapped_column(String(100), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    commune: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40))
    hours: Mapped[str] = mapped_column(String(100), default="")
    national: Mapped[bool] = mapped_column(Boolean, default=False)
    # Folded place names (no diacritics, lowercase) for matching what a child types.
    place_key: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageStat(Base):
    """Daily counts of understood messages per channel, topic and risk level: no ids, no text."""

    __tablename__ = "content_message_stats"
    __table_args__ = (UniqueConstraint("day", "channel", "topic", "risk_level",
                                       name="uq_content_message_stats_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # local date, YYYY-MM-DD
    channel: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(120))  # the intent, "" when unknown
    risk_level: Mapped[str] = mapped_column(String(16))
    messages: Mapped[int] = mapped_column(Integer, default=0)
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)
