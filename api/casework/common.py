"""Small pieces the casework routes share: the case a route works on, who may change it, errors."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.auth.models import User
from api.cases.models import Case, CaseStatus

SUPERVISING_ROLES = ("supervisor", "admin")


def case_reference(case_id: int) -> str:
    """The case's public reference number, the only case identifier that leaves the service."""
    return f"CA-{case_id:06d}"


def load_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy ca. / No such case.")
    return case


def check_may_change(case: Case, user: User) -> None:
    """Closed cases are read-only; a case a counselor holds is changed by them or a supervisor."""
    if case.status == CaseStatus.CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail="Ca này đã đóng, không sửa được nữa. / The case is closed.")
    if (case.status == CaseStatus.ACTIVE and case.assigned_user_id not in (None, user.id)
            and user.role not in SUPERVISING_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="Ca này do tư vấn viên khác phụ trách. / Another counselor holds this case.")


def unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=message)


def iso(value: datetime | date | None) -> str | None:
    """A datetime (SQLite gives naive UTC) or a date in ISO 8601."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if value is not None else None


def new_seed_items(session: Session, path: Path, section: str,
                   key_column: InstrumentedAttribute[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(position, item) for the seed file's items whose key is not in the table yet: what staff
    edited or added stays as it is. Positions leave room between items (10, 20, …)."""
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    have = set(session.scalars(select(key_column)))
    for position, item in enumerate(raw.get(section) or [], start=1):
        if item["key"] not in have:
            yield position * 10, item
