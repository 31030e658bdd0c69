"""Who may close which case: a waiting high or imminent case that nobody holds leaves a child
waiting for a person, so a counselor cannot close it (accept it first); a supervisor can, with a
reason that is kept (encrypted) with the case and written to the audit log."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import User
from api.cases.models import Case, CaseNote, CaseStatus
from api.db.base import utcnow
from api.messaging.risk import RiskLevel
from api.security.crypto import Crypto

OVERRIDE_ROLES = ("supervisor", "admin")
REASON_NOTE = "close_reason"
COUNSELOR_REFUSED = ("Ca này đang chờ và chưa có ai nhận (mức nghiêm trọng trở lên): hãy nhận ca trước khi đóng, "
                     "hoặc nhờ giám sát đóng kèm lý do. / This waiting high-risk case has not been accepted: "
                     "accept it first, or ask a supervisor to close it with a reason.")
REASON_MISSING = ("Đóng một ca nghiêm trọng chưa ai nhận cần ghi lý do. / "
                  "A reason is required to close an unaccepted high-risk case.")


@dataclass(frozen=True)
class CloseRefusal:
    status_code: int
    detail: str


def unaccepted_urgent(case: Case) -> bool:
    """Waiting for a counselor (nobody holds it) at high or imminent risk."""
    return case.status == CaseStatus.WAITING and case.level_rank >= RiskLevel.HIGH.rank


def close_refusal(case: Case, user: User, reason: str) -> CloseRefusal | None:
    """Why `user` may not close `case` now, or None."""
    if not unaccepted_urgent(case):
        return None
    if user.role not in OVERRIDE_ROLES:
        return CloseRefusal(409, COUNSELOR_REFUSED)
    if not reason.strip():
        return CloseRefusal(422, REASON_MISSING)
    return None


def record_override(session: Session, case: Case, user: User, reason: str, outcome: str, crypto: Crypto) -> None:
    """Keep a supervisor's reason for closing an unaccepted urgent case, and audit it (no text in the log)."""
    now = utcnow()
    note = CaseNote(case_id=case.id, user_id=user.id, kind=REASON_NOTE,
                    text_encrypted=crypto.encrypt(reason.strip()), created_at=now)
    session.add(note)
    session.flush()
    waited = case.waiting_since
    if waited is not None and waited.tzinfo is None:
        waited = waited.replace(tzinfo=now.tzinfo)
    audit(session, user, "case.close_unaccepted", f"case:{case.id}",
          {"level": case.level, "outcome": outcome, "reason_note": note.id,
           "waited_seconds": int((now - waited).total_seconds()) if waited else None})
