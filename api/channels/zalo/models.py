"""Tables for the Zalo OA channel.

The OA token pair is encrypted at rest; the refresh token is single-use, so the row is the one
place the current pair lives and is only replaced under a row lock.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class ZaloOaToken(Base):
    """The current access/refresh pair of one OA (keyed by app id)."""

    __tablename__ = "zalo_oa_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Fingerprint of the ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN pair this row was seeded from: when an
    # operator re-authorises and sets a new pair, the stored (possibly dead) chain is replaced.
    seed_fingerprint: Mapped[str] = mapped_column(String(64))
    refresh_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped at the start of a refresh so SQLite takes its write lock before reading the pair.
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ZaloConversationState(Base):
    """Per-conversation Zalo state: the numbered options last offered and the follow status."""

    __tablename__ = "zalo_conversation_states"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    # {"1": payload, "2": payload}; bot-authored payloads, no user data.
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    choices_offered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
