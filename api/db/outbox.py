"""Rows waiting to be sent (notifications, e-mails) claimed with a lease, so that two gateway
processes never send one row twice and a row whose sender crashed is retried once the lease ends.

    for note in claim_due(session, Notification, due, lease={Notification.next_attempt_at: until}, limit=20):
        ...
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.db.base import Base

RowT = TypeVar("RowT", bound=Base)


def claim_due(session: Session, model: type[RowT], due: ColumnElement[bool], *,
              lease: Mapping[InstrumentedAttribute[Any], Any], limit: int) -> list[RowT]:
    """Up to `limit` rows matching `due` (oldest id first), each claimed by setting the `lease` values
    with a conditional update; a row another process claimed in between is skipped."""
    row_id = model.id  # type: ignore[attr-defined]
    ids = list(session.scalars(select(row_id).where(due).order_by(row_id).limit(limit)))
    claimed_rows: list[RowT] = []
    for candidate in ids:
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(model).where(row_id == candidate, due).values(dict(lease))
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        row = session.get(model, candidate)
        assert row is not None
        claimed_rows.append(row)
    return claimed_rows
