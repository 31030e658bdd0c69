"""Tables of the casework: record fields (data, edited by admins), case records, referrals and
canned replies. What a counselor wrote about a child (record values, referral reason and what was
shared) is Fernet-encrypted; no table holds a platform id."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, utcnow


class ReferralStatus(StrEnum):
    """Where a referral is: sent to the recipient, then their answer."""

    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DECLINED = "declined"


REFERRAL_STATUSES = tuple(member.value for member in ReferralStatus)
# A referral in one of these needs no more follow-up.
FINISHED_STATUSES = (ReferralStatus.DONE.value, ReferralStatus.DECLINED.value)
EMAIL_STATUSES = ("none", "pending", "sent", "failed", "not_configured")


class RecordField(Base):
    """One field of the case record and its list of options (seeded from seed/record.yml)."""

    __tablename__ = "casework_record_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # choice | multi | text | province | commune
    help: Mapped[str] = mapped_column(String(300), default="")
    # [{"value", "label", "parent"?}]; for `province`: the provinces of the area served (empty: all).
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRecord(Base):
    """The structured record of one case: its values, encrypted as one JSON document."""

    __tablename__ = "casework_case_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    values_encrypted: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """A case referred to 111, a local service or a directory entry, and its follow-up."""

    __tablename__ = "casework_referrals"
    __table_args__ = (Index("ix_casework_referrals_status_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(24))  # 111 | commune | province | police | health | directory | other
    directory_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_directory_entries.id", ondelete="SET NULL"), default=None)
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    reason_encrypted: Mapped[str] = mapped_column(Text)
    shared_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.SENT.value)
    due_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    overdue_alerted_at: Mapped[datetime | None] = mapped_column(default=None)
    email_status: Mapped[str] = mapped_column(String(16), default="none")
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_next_at: Mapped[datetime | None] = mapped_column(default=None)
    email_error: Mapped[str | None] = mapped_column(String(300), default=None)


class CannedReply(Base):
    """A reply counselors insert and edit before sending (seeded from seed/canned_replies.yml)."""

    __tablename__ = "casework_canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    situation: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    # Safety-critical replies must give 111 (the content console's rule); once set it stays.
    safety_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Removed by a supervisor: kept (so the seed file never brings it back) but not offered.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
