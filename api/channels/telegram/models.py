"""Telegram's own table: short keys for button payloads longer than callback_data's 64 bytes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ButtonPayload(Base):
    """Short keys for button payloads too long for a channel (Telegram callback_data is 64 bytes)."""

    __tablename__ = "button_payloads"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
