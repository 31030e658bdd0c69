"""Routes for the inbox and retraining, broadcasts, quizzes, the help directory and the dashboard."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.auth import audit
from api.content import broadcasts as broadcast_service
from api.content import dashboard, directory, inbox, quizzes
from api.content.deps import ContentStaff
from api.content.models import Broadcast, BroadcastStatus, DirectoryEntry, InboxItem, Quiz, RetrainJob, Subscriber
from api.content.retrain import RetrainRunner, job_out
from api.context import app_context
from api.db.base import utcnow
from api.deps import AppSettings, DbSession
from api.security.crypto import Crypto

router = APIRouter(prefix="/api/v1", tags=["content: campaign"])


def _crypto(request: Request) -> Crypto:
    return app_context(request.app).crypto


def _path(settings: Any, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else Path(settings.repo_root) / path


# --- inbox -----------------------------------------------------------------------------------------

class ReviewIn(BaseModel):
    action: str = Field(pattern="^(assign|propose|dismiss)$")
    topic: str | None = Field(default=None, max_length=120)
    answer: str | None = Field(default=None, max_length=2000)


@router.get("/inbox")
def list_inbox(request: Request, db: DbSession, _user: ContentStaff,
               status_filter: Annotated[str, Query(alias="status")] = "new") -> list[dict[str, Any]]:
    crypto = _crypto(request)
    items = db.scalars(select(InboxItem).where(InboxItem.status == status_filter)
                       .order_by(InboxItem.created_at.desc()).limit(200)).all()
    return [inbox.item_out(item, crypto) for item in items]


@router.get("/inbox/topics")
def inbox_topics(settings: AppSettings, _user: ContentStaff) -> list[str]:
    return inbox.known_topics(_path(settings, settings.domain_path))


@router.post("/inbox/{item_id}/review")
def review_item(item_id: int, body: ReviewIn, request: Request, settings: AppSettings, db: DbSession,
                user: ContentStaff) -> dict[str, Any]:
    item = db.get(InboxItem, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy câu hỏi. / No such item.")
    topics = inbox.known_topics(_path(settings, settings.domain_path))
    try:
        inbox.review(item, body.action, user.email, topic=body.topic, answer=body.answer, topics=topics)
    except inbox.InboxError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    audit(db, user, f"content.inbox.{body.action}", f"inbox:{item_id}", {"topic": item.topic})
    db.commit()
    return inbox.item_out(item, _crypto(request))


def _export(request: Request, settings: Any, db: Any) -> tuple[Path, str, str, list[InboxItem]]:
    nlu_dir = _path(settings, settings.nlu_data_dir)
    path = inbox.export_path(nlu_dir, utcnow().date())
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    items = inbox.accepted_unexported(db)
    text = inbox.render_export(items, _crypto(request), existing)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    now = utcnow()
    for item in items:
        item.exported_at = now
    audit(db, user, "content.inbox.export", f"file:{path.name}"[:64], {"examples": len(items)})
    db.commit()
    return {"path": path.name, "examples": len(items), "diff": diff}


# --- retraining ------------------------------------------------------------------------------------

def _runner(request: Request) -> RetrainRunner:
    return app_context(request.app).retrain_runner


@router.post("/retrain", status_code=status.HTTP_202_ACCEPTED)
async def start_retrain(request: Request, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    runner = _runner(request)
    if runner.busy:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Đang huấn luyện rồi, hãy chờ xong. / "
                                                             "A retrain is already running.")
    job_id = runner.start(user.email)
    audit(db, user, "content.retrain.start", f"retrain:{job_id}")
    db.commit()
    job = db.get(RetrainJob, job_id)
    assert job is not None
    return job_out(job)


@router.get("/retrain")
def list_retrains(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [job_out(j) for j in db.scalars(select(RetrainJob).order_by(RetrainJob.id.desc()).limit(20))]


@router.get("/retrain/{job_id}")
def get_retrain(job_id: int, db: DbSession, _user: ContentStaff) -> dict[str, Any]:
    job = db.get(RetrainJob, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có lần huấn luyện này. / No such job.")
    return job_out(job)


# --- broadcasts ------------------------------------------------------------------------------------

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
    return broadcast_service.broadcast_out(db, broadcast)


def _broadcast(db: Any, broadcast_id: int) -> Broadcast:
    broadcast = db.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có tin này. / No such broadcast.")
    return broadcast


@router.get("/broadcasts/{broadcast_id}")
def get_broadcast(broadcast_id: int, db: DbSession, _user: ContentStaff) -> dict[str, Any]:
    return broadcast_service.broadcast_out(db, _broadcast(db, broadcast_id))


@router.post("/broadcasts/{broadcast_id}/send")
def send_broadcast(broadcast_id: int, request: Request, settings: AppSettings, db: DbSession,
                   user: ContentStaff) -> dict[str, Any]:
    broadcast = _broadcast(db, broadcast_id)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Tin này đã gửi hoặc đã huỷ. / Already sent or "
                                                             "cancelled.")
    queued = broadcast_service.dispatch(db, broadcast, _crypto(request),
                                        zalo_window_days=settings.zalo_reply_window_days)
    audit(db, user, "content.broadcast.send", f"broadcast:{broadcast.id}", {"queued": queued})
    db.commit()
    return broadcast_service.broadcast_out(db, broadcast)


@router.post("/broadcasts/{broadcast_id}/cancel")
def cancel_broadcast(broadcast_id: int, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    broadcast = _broadcast(db, broadcast_id)
    try:
        withdrawn = broadcast_service.cancel(db, broadcast)
    except broadcast_service.BroadcastError as error:
        raise HTTPException(error.status, detail=error.message) from None
    audit(db, user, "content.broadcast.cancel", f"broadcast:{broadcast.id}", {"withdrawn": withdrawn})
    db.commit()
    return broadcast_service.broadcast_out(db, broadcast)


# --- quizzes ---------------------------------------------------------------------------------------

class QuestionIn(BaseModel):
    text: str = Field(max_length=500)
    options: list[str] = Field(max_length=6)
    correct: int
    explanation: str = Field(max_length=1000)


class QuizIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=30)
    active: bool = True


@router.get("/quizzes")
def list_quizzes(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [quizzes.quiz_out(q) for q in db.scalars(select(Quiz).order_by(Quiz.id.desc()))]


def _save_quiz(db: Any, quiz: Quiz | None, body: QuizIn, user: Any) -> Quiz:
    try:
        questions = quizzes.validate_questions([q.model_dump() for q in body.questions])
    except quizzes.QuizError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    if quiz is None:
        quiz = Quiz(title=body.title, questions=questions, active=body.active, created_by=user.email)
        db.add(quiz)
    else:
        quiz.title, quiz.questions, quiz.active = body.title, questions, body.active
    db.flush()
    audit(db, user, "content.quiz.save", f"quiz:{quiz.id}", {"questions": len(questions)})
    db.commit()
    return quiz


@router.post("/quizzes", status_code=status.HTTP_201_CREATED)
def create_quiz(body: QuizIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    return quizzes.quiz_out(_save_quiz(db, None, body, user))


@router.put("/quizzes/{quiz_id}")
def update_quiz(quiz_id: int, body: QuizIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    quiz = db.get(Quiz, quiz_id)
    if quiz is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có bộ đố vui này. / No such quiz.")
    return quizzes.quiz_out(_save_quiz(db, quiz, body, user))


# --- help directory --------------------------------------------------------------------------------

class EntryIn(BaseModel):
    name: str
    kind: str
    province: str
    district: str = ""
    commune: str = ""
    phone: str
    hours: str = ""


@router.get("/directory")
def list_directory(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [directory.entry_out(e) for e in directory.all_entries(db)]


@router.get("/directory/search")
def search_directory(db: DbSession, q: Annotated[str, Query(max_length=200)] = "") -> list[dict[str, Any]]:
    """Public: the help directory holds only public service numbers. 111 always comes first."""
    return [directory.entry_out(e) for e in directory.search(db, q)]


@router.post("/directory", status_code=status.HTTP_201_CREATED)
def add_directory_entry(body: EntryIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    try:
        entry = directory.add_entry(db, directory.validate_entry(body.model_dump()))
    except directory.DirectoryError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    db.flush()
    audit(db, user, "content.directory.add", f"directory:{entry.id}")
    db.commit()
    return directory.entry_out(entry)


@router.delete("/directory/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_directory_entry(entry_id: int, db: DbSession, user: ContentStaff) -> None:
    entry = db.get(DirectoryEntry, entry_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có mục này. / No such entry.")
    if entry.national:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Không xoá được số quốc gia. / National numbers "
                                                             "cannot be removed.")
    db.delete(entry)
    audit(db, user, "content.directory.delete", f"directory:{entry_id}")
    db.commit()


@router.get("/directory/export.csv")
def export_directory(db: DbSession, _user: ContentStaff) -> PlainTextResponse:
    return PlainTextResponse(directory.export_csv(directory.all_entries(db)), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="directory.csv"'})


@router.post("/directory/import")
async def import_directory(db: DbSession, user: ContentStaff, file: UploadFile = File(...)) -> dict[str, Any]:
    raw = await file.read(2_000_001)
    if len(raw) > 2_000_000:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="Tệp quá lớn (tối đa 2 MB). / File too large.")
    try:
        rows = directory.parse_csv(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="Tệp cần mã hoá UTF-8. / The file must be UTF-8.") from None
    except directory.DirectoryError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    for row in rows:
        directory.add_entry(db, row)
    audit(db, user, "content.directory.import", "directory", {"rows": len(rows)})
    db.commit()
    return {"imported": len(rows)}


# --- dashboard -------------------------------------------------------------------------------------

@router.get("/dashboard")
def get_dashboard(settings: AppSettings, db: DbSession, _user: ContentStaff,
                  days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict[str, Any]:
    return dashboard.figures(db, days=days, zone=settings.timezone)


@router.get("/dashboard.csv")
def dashboard_csv(settings: AppSettings, db: DbSession, _user: ContentStaff,
                  days: Annotated[int, Query(ge=1, le=366)] = 30) -> PlainTextResponse:
    data = dashboard.figures(db, days=days, zone=settings.timezone)
    return PlainTextResponse(dashboard.to_csv(data), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="dashboard.csv"'})
