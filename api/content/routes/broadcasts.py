"""Content routes: broadcasts to subscribers (and the subscriber counts)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.auth import audit
from api.content import broadcasts as broadcast_service
from api.content.deps import ContentStaff
from api.content.models import Broadcast, BroadcastStatus, Quiz, Subscriber
from api.content.safe_words import check_broadcast
from api.context import app_context
from api.deps import ERROR_RESPONSES, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: broadcasts"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class ButtonIn(BaseModel):
    title: str = Field(min_length=1, max_length=60)
    payload: str = Field(min_length=1, max_length=60)


class BroadcastIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    channels: list[str] = Field(min_length=1)
    buttons: list[ButtonIn] = Field(default_factory=list, max_length=6)
    quiz_id: int | None = None
    scheduled_at: datetime | None = None


@router.get("/subscribers/count")
def subscriber_counts(db: DbSession, _user: ContentStaff) -> dict[str, int]:
    return dict(db.execute(select(Subscriber.channel, func.count()).where(Subscriber.subscribed.is_(True))
                           .group_by(Subscriber.channel)).all())


@router.get("/broadcasts")
def list_broadcasts(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    rows = db.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(50)).all()
    return [broadcast_service.broadcast_out(db, b) for b in rows]


@router.post("/broadcasts", status_code=status.HTTP_201_CREATED)
def create_broadcast(body: BroadcastIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    unknown = [c for c in body.channels if c not in broadcast_service.CHANNELS]
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"Kênh không hợp lệ: {', '.join(unknown)}. / Unknown channel.")
    if body.quiz_id is not None and db.get(Quiz, body.quiz_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="Không có bộ đố vui này. / No such quiz.")
    scheduled = body.scheduled_at
    if scheduled is not None and scheduled.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="Giờ hẹn cần có múi giờ (ví dụ +07:00). / scheduled_at needs a time zone.")
    broadcast = Broadcast(title=body.title, text=body.text, channels=sorted(set(body.channels)),
                          buttons=[b.model_dump() for b in body.buttons], quiz_id=body.quiz_id,
                          scheduled_at=scheduled.astimezone(UTC) if scheduled else None,
                          status=BroadcastStatus.SCHEDULED if scheduled else BroadcastStatus.DRAFT,
                          created_by=user.email)
    db.add(broadcast)
    db.flush()
    audit(db, user, "content.broadcast.create", f"broadcast:{broadcast.id}",
          {"channels": broadcast.channels, "scheduled": scheduled is not None})
    db.commit()
    # Warnings never block: staff see what the style guide (docs/content.md) would change.
    return {**broadcast_service.broadcast_out(db, broadcast),
            "warnings": check_broadcast(broadcast.text, broadcast.buttons)}


def _broadcast(db: Any, broadcast_id: int) -> Broadcast:
    broadcast = db.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có tin này. / No such broadcast.")
    return broadcast


@router.get("/broadcasts/{broadcast_id}")
def get_broadcast(broadcast_id: RowId, db: DbSession, _user: ContentStaff) -> dict[str, Any]:
    return broadcast_service.broadcast_out(db, _broadcast(db, broadcast_id))


@router.post("/broadcasts/{broadcast_id}/send")
def send_broadcast(broadcast_id: RowId, request: Request, db: DbSession,
                   user: ContentStaff) -> dict[str, Any]:
    broadcast = _broadcast(db, broadcast_id)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Tin này đã gửi hoặc đã huỷ. / Already sent or "
                                                             "cancelled.")
    # Queued by the scheduler in short batches (it wakes now): a request never holds the database
    # for the whole subscriber list.
    broadcast_service.start(broadcast)
    audit(db, user, "content.broadcast.send", f"broadcast:{broadcast.id}", {"channels": broadcast.channels})
    db.commit()
    app_context(request.app).broadcast_scheduler.wake()
    return broadcast_service.broadcast_out(db, broadcast)


@router.post("/broadcasts/{broadcast_id}/cancel")
def cancel_broadcast(broadcast_id: RowId, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    broadcast = _broadcast(db, broadcast_id)
    try:
        withdrawn = broadcast_service.cancel(db, broadcast)
    except broadcast_service.BroadcastError as error:
        raise HTTPException(error.status, detail=error.message) from None
    audit(db, user, "content.broadcast.cancel", f"broadcast:{broadcast.id}", {"withdrawn": withdrawn})
    db.commit()
    return broadcast_service.broadcast_out(db, broadcast)
