"""The web chat mailbox: the web channel's sender "delivers" a reply by writing it here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class WebChatReply(Base):
    """One delivered reply; the browser polls for rows with an id above the last one it has."""

    __tablename__ = "webchat_replies"
    __table_args__ = (Index("ix_webchat_replies_conversation_order", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    payload_encrypted: Mapped[str] = mapped_column(Text)  # JSON {text, buttons, image}
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
