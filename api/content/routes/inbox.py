"""Content routes: the inbox of questions the assistant could not answer, reviewed and exported."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import audit
from api.content import inbox
from api.content.deps import ContentStaff
from api.content.models import InboxItem
from api.content.routes.common import repo_path
from api.content.topics import labels, topic_choices
from api.context import app_context
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, AppSettings, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: inbox"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class ReviewIn(BaseModel):
    action: str = Field(pattern="^(assign|propose|dismiss)$")
    topic: str | None = Field(default=None, max_length=120)
    answer: str | None = Field(default=None, max_length=2000)


@router.get("/inbox")
def list_inbox(request: Request, db: DbSession, _user: ContentStaff,
               status_filter: Annotated[str, Query(alias="status")] = "new") -> list[dict[str, Any]]:
    crypto = app_context(request.app).crypto
    items = db.scalars(select(InboxItem).where(InboxItem.status == status_filter, inbox.VISIBLE)
                       .order_by(InboxItem.created_at.desc()).limit(200)).all()
    return [inbox.item_out(item, crypto) for item in items]


def _topic_choices(settings: Any) -> list[dict[str, str]]:
    return topic_choices(inbox.known_topics(repo_path(settings, settings.domain_path)))


@router.get("/inbox/topics")
def inbox_topics(settings: AppSettings, _user: ContentStaff) -> list[dict[str, str]]:
    """The topics a question may be assigned to: code, Vietnamese name and group."""
    return _topic_choices(settings)


@router.get("/content/labels")
def content_labels(_user: ContentStaff) -> dict[str, dict[str, str]]:
    """The Vietnamese names of the codes the console shows (topics, risk levels, channels)."""
    return labels()


@router.post("/inbox/{item_id}/review")
def review_item(item_id: RowId, body: ReviewIn, request: Request, settings: AppSettings, db: DbSession,
                user: ContentStaff) -> dict[str, Any]:
    item = db.get(InboxItem, item_id)
    if item is None or not inbox.shown_to_staff(item.risk_level):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy câu hỏi. / No such item.")
    topics = [choice["topic"] for choice in _topic_choices(settings)]
    try:
        inbox.review(item, body.action, user.email, topic=body.topic, answer=body.answer, topics=topics)
    except inbox.InboxError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    audit(db, user, f"content.inbox.{body.action}", f"inbox:{item_id}", {"topic": item.topic})
    db.commit()
    return inbox.item_out(item, app_context(request.app).crypto)


def _export(request: Request, settings: Any, db: Any) -> tuple[Path, str, str, list[InboxItem]]:
    try:
        folder = inbox.export_dir(Path(settings.repo_root), repo_path(settings, settings.inbox_export_dir),
                                  repo_path(settings, settings.nlu_data_dir))
    except inbox.InboxError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    path = inbox.export_path(folder, utcnow().date())
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    items = inbox.accepted_unexported(db)
    text = inbox.render_export(items, app_context(request.app).crypto, existing)
    return path, text, inbox.export_diff(path, text, Path(settings.repo_root)), items


@router.get("/inbox/export")
def preview_export(request: Request, settings: AppSettings, db: DbSession, _user: ContentStaff) -> dict[str, Any]:
    """The YAML diff the export would write (review it before writing)."""
    path, _text, diff, items = _export(request, settings, db)
    return {"path": path.name, "examples": len(items), "diff": diff}


@router.post("/inbox/export")
def write_export(request: Request, settings: AppSettings, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    path, text, diff, items = _export(request, settings, db)
    if not items:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Chưa có câu nào được chấp nhận để xuất. / "
                                                             "Nothing accepted to export.")
    inbox.prepare_export_dir(path.parent)
    path.write_text(text, encoding="utf-8")
    now = utcnow()
    for item in items:
        item.exported_at = now
    audit(db, user, "content.inbox.export", f"file:{path.name}"[:64], {"examples": len(items)})
    db.commit()
    return {"path": path.name, "examples": len(items), "diff": diff}
