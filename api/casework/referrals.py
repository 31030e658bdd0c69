"""Referrals: a case referred to 111, a local service or a directory entry, with a follow-up date.

What leaves the service (the e-mail, the printed form) carries the case's public reference number,
the reason and what the counselor chose to share: never the child's pseudonymous or platform id, and
no message of the conversation."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.cases.models import Case
from api.casework.common import case_reference, iso
from api.casework.models import FINISHED_STATUSES, Referral
from api.content.models import DirectoryEntry
from api.security.crypto import Crypto
from api.settings import Settings

RECIPIENTS = {
    "111": "Tổng đài quốc gia bảo vệ trẻ em 111",
    "commune": "Cán bộ bảo vệ trẻ em cấp xã, phường",
    "province": "Cơ quan bảo vệ trẻ em cấp tỉnh, thành phố",
    "police": "Công an",
    "health": "Cơ sở y tế",
    "other": "Nơi khác",
}
DIRECTORY_PREFIX = "directory:"
MAX_FOLLOW_UP_DAYS = 366
_EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")


class ReferralError(ValueError):
    """Bad referral input (answered with 422)."""


def local_today(settings: Settings, now: datetime | None = None) -> date:
    """Follow-up dates are the counselors' local dates."""
    return (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(settings.timezone)).date()


def check_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL_RE.fullmatch(email):
        raise ReferralError("Địa chỉ e-mail không hợp lệ. / Invalid e-mail address.")
    return email


def check_due_date(due: date, today: date) -> date:
    if due < today:
        raise ReferralError("Ngày hẹn theo dõi không được ở trong quá khứ. / The follow-up date is in the past.")
    if due > today + timedelta(days=MAX_FOLLOW_UP_DAYS):
        raise ReferralError("Ngày hẹn theo dõi quá xa (tối đa một năm). / Follow-up at most a year ahead.")
    return due


def resolve_recipient(session: Session, recipient: str, place: dict[str, Any]) -> tuple[str, int | None, str]:
    """(kind, directory entry id, name for the e-mail and form) for `111|commune|…|directory:<id>`.
    A commune or province recipient is named with the place in the case record, when it is there."""
    if recipient.startswith(DIRECTORY_PREFIX):
        raw_id = recipient[len(DIRECTORY_PREFIX):]
        entry = session.get(DirectoryEntry, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 12 else None
        if entry is None:
            raise ReferralError("Không có mục này trong danh bạ. / No such directory entry.")
        where = ", ".join(p for p in (entry.commune, entry.province) if p)
        return "directory", entry.id, f"{entry.name} ({entry.phone}{', ' + where if where else ''})"
    if recipient not in RECIPIENTS:
        raise ReferralError(f"Nơi nhận phải là một trong {', '.join(RECIPIENTS)} hoặc directory:<id>. / "
                            "Unknown recipient.")
    name = RECIPIENTS[recipient]
    keys = {"commune": ("commune", "province"), "province": ("province",)}.get(recipient, ())
    places = [str(place[key]) for key in keys if place.get(key)]
    return recipient, None, f"{name} — {', '.join(places)}" if places else name


def overdue_query(today: date) -> Select[Any]:
    return select(Referral).where(Referral.status.not_in(FINISHED_STATUSES), Referral.due_date < today)


def is_overdue(referral: Referral, today: date) -> bool:
    return referral.status not in FINISHED_STATUSES and referral.due_date < today


def referral_out(referral: Referral, crypto: Crypto, today: date) -> dict[str, Any]:
    return {
        "id": referral.id, "case_id": referral.case_id, "reference": case_reference(referral.case_id),
        "recipient": (f"{DIRECTORY_PREFIX}{referral.directory_id}" if referral.recipient == "directory"
                      and referral.directory_id else referral.recipient),
        "recipient_name": referral.recipient_name, "email": referral.email,
        "reason": crypto.decrypt(referral.reason_encrypted), "shared": crypto.decrypt(referral.shared_encrypted),
        "status": referral.status, "due_date": referral.due_date.isoformat(), "overdue": is_overdue(referral, today),
        "email_status": referral.email_status, "created_at": iso(referral.created_at),
        "updated_at": iso(referral.updated_at),
    }


def message_lines(referral: Referral, crypto: Crypto, counselor: str) -> list[tuple[str, str]]:
    """What the e-mail and the printed form say, label by label (the minimum necessary)."""
    return [
        ("Số hồ sơ", case_reference(referral.case_id)),
        ("Kính gửi", referral.recipient_name),
        ("Lý do chuyển tuyến", crypto.decrypt(referral.reason_encrypted)),
        ("Thông tin chia sẻ", crypto.decrypt(referral.shared_encrypted)),
        ("Đề nghị phản hồi trước ngày", referral.due_date.strftime("%d/%m/%Y")),
        ("Người chuyển", counselor),
    ]


def referrals_of_case(session: Session, case: Case) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)))
