"""Failed and parked rows: inbound messages the pipeline gave up on and outbox rows that were never
delivered. Admins see them (GET /api/v1/admin/failed, the console's banner); operators put them back
in the queue with `python -m api.cli requeue-failed`.

Nothing here shows message text: ids, channel, a short reason, attempts and age only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.session import Database
from api.messaging.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from api.ops.queues import age_seconds

LIST_LIMIT = 100
REASON_LIMIT = 120
FAILED_MODELS: dict[str, type[InboundMessage] | type[OutboundMessage]] = {
    "inbound": InboundMessage, "outbox": OutboundMessage}


def short_reason(queue: str, last_error: str | None) -> str:
    """A reason safe to show: for inbound rows only the error's kind (an exception's message may quote
    stored values); for outbox rows the platform's answer, which never contains the message."""
    if not last_error:
        return "unknown"
    if queue == "inbound":
        return last_error.split(":", 1)[0][:REASON_LIMIT]
    return last_error[:REASON_LIMIT]


def failed_rows(session: Session, limit: int = LIST_LIMIT) -> dict[str, Any]:
    """For each queue: the count of failed rows and the newest `limit` of them."""
    now = utcnow()
    body: dict[str, Any] = {}
    for queue, model in FAILED_MODELS.items():
        moment = model.received_at if model is InboundMessage else model.created_at  # type: ignore[union-attr]
        count = session.scalar(select(func.count()).select_from(model).where(model.status == "failed")) or 0
        rows = session.execute(
            select(model.id, model.channel, model.last_error, model.attempts, moment)
            .where(model.status == "failed").order_by(model.id.desc()).limit(limit))
        body[queue] = {
            "count": int(count),
            "rows": [{"id": row_id, "channel": channel, "reason": short_reason(queue, error),
                      "attempts": attempts, "age_seconds": round(age_seconds(at, now))}
                     for row_id, channel, error, attempts, at in rows],
        }
    body["total"] = body["inbound"]["count"] + body["outbox"]["count"]
    return body


def failed_counts(session: Session) -> dict[str, int]:
    counts = {queue: int(session.scalar(select(func.count()).select_from(model)
                                        .where(model.status == "failed")) or 0)
              for queue, model in FAILED_MODELS.items()}
    return {**counts, "total": sum(counts.values())}


@dataclass
class Requeued:
    inbound: int = 0
    outbox: int = 0


def requeue_failed(database: Database, *, inbound: bool = True, outbox: bool = True,
                   row_id: int | None = None) -> Requeued:
    """Put failed rows (all, or the one with `row_id`) back to pending with a fresh attempt count;
    the running workers take them at their next poll. Returns how many rows of each queue moved."""
    result = Requeued()
    with database.transaction() as session:
        if inbound:
            result.inbound = _requeue(session, InboundMessage, InboundStatus.FAILED, row_id)
        if outbox:
            result.outbox = _requeue(session, OutboundMessage, OutboundStatus.FAILED, row_id)
    return result


def _requeue(session: Session, model: type[InboundMessage] | type[OutboundMessage], failed: str,
             row_id: int | None) -> int:
    condition = [model.status == failed]
    if row_id is not None:
        condition.append(model.id == row_id)
    moved = session.execute(
        update(model).where(*condition)
        .values(status="pending", attempts=0, next_attempt_at=None, lease_expires_at=None)
        .execution_options(synchronize_session=False))
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]
