"""The audit trail: every view and action on a case or account."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.auth.models import AuditLog, User


def audit(session: Session, user: User | None, action: str, target: str = "",
          details: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to the caller's transaction (committed with the action it records).

    `target` is e.g. "case:12" or "user:3"; `details` must never contain message text.
    """
    entry = AuditLog(user_id=user.id if user else None, action=action, target=target,
                     details=details or {})
    session.add(entry)
    return entry
