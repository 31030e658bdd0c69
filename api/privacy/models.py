"""Privacy records: legal holds on cases, erasure requests (and their tombstones), consent records.

None of them holds message text or a platform user id. An erasure request keeps the pseudonymous
sender id only while it is open; once done it is a tombstone: channel, dates, counts.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ErasureStatus(StrEnum):
    """awaiting_confirmation: asked in the chat, not confirmed yet; supervisor: an open or held case
    needs a supervisor's decision; erasing: confirmed, the last notice is on its way; done; declined;
    cancelled."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SUPERVISOR = "supervisor"
    ERASING = "erasing"
    DONE = "done"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Purpose(StrEnum):
    ANSWERING = "answering_questions"
    CHILD_PROTECTION = "child_protection"
    BROADCASTS = "broadcasts"


# Each purpose and the legal basis it rests on (Decree 13/2023/ND-CP art. 17; PDP Law 2025).
LEGAL_BASIS = {
    Purpose.ANSWERING: "consent_by_use",
    Purpose.CHILD_PROTECTION: "vital_interest_legal_duty",
    Purpose.BROADCASTS: "opt_in_consent",
}


class LegalHold(Base):
    """A case a supervisor marked as held: the purge and erasure never touch it or its conversation."""

    __tablename__ = "privacy_legal_holds"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    held_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    reason: Mapped[str] = mapped_column(String(500))
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErasureRequest(Base):
    """One request to erase a person's data (chat, API or command line) and what became of it."""

    __tablename__ = "privacy_erasure_requests"
    __table_args__ = (Index("ix_privacy_erasure_requests_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Pseudonymous "<channel>:<hmac>" while the request is open; cleared once done or declined.
    sender_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True)
    via: Mapped[str] = mapped_column(String(16))  # chat | api | cli
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(500), default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rows erased per table
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsentRecord(Base):
    """One purpose of one conversation: its legal basis, when the privacy notice was shown, and
    (broadcasts) when consent was given or withdrawn."""

    __tablename__ = "privacy_consents"
    __table_args__ = (UniqueConstraint("conversation_id", "purpose", name="uq_privacy_consents_purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(32))
    notice_shown_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    granted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    age_told: Mapped[int | None] = mapped_column(Integer, nullable=True)  # as the child said, if ever
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
