"""Two-factor sign-in: one TOTP secret per staff account (encrypted at rest) and its one-time
recovery codes (argon2 hashes, like passwords)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class UserTwoFactor(Base):
    """A staff account's authenticator secret. `pending_secret_encrypted` is the secret shown at
    enrolment until a code confirms it; `secret_encrypted` the confirmed one."""

    __tablename__ = "user_two_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    pending_secret_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The time step of the last code accepted: a code is never accepted twice.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def enrolled(self) -> bool:
        return self.secret_encrypted is not None


class RecoveryCode(Base):
    """One recovery code: `lookup` (its first characters, not secret on their own) finds the row,
    the argon2 hash of the whole code proves it; used once."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lookup: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
