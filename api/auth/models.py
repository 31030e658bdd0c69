"""Staff users and the audit log."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow

ROLES = ("counselor", "supervisor", "admin", "campaign_staff")
# Roles that work on cases and may read transcripts; campaign staff never do.
CASE_ROLES = ("counselor", "supervisor", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped when a password changes or the account is deactivated, so old tokens stop working.
    token_version: Mapped[int] = mapped_column(default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def is_online(self, now: datetime, online_seconds: int) -> bool:
        if not self.active or self.last_seen_at is None:
            return False
        seen = self.last_seen_at
        if seen.tzinfo is None:  # SQLite returns naive datetimes
            seen = seen.replace(tzinfo=now.tzinfo)
        return now - seen <= timedelta(seconds=online_seconds)


class AuditLog(Base):
    """Who viewed or did what to which object. Details never hold message text."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
