"""Content routes: retraining the model from the console."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from api.auth import audit
from api.content.deps import ContentStaff
from api.content.models import RetrainJob
from api.content.retrain import RetrainBusy, RetrainRunner, job_out
from api.context import app_context
from api.deps import ERROR_RESPONSES, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: retrain"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


def _runner(request: Request) -> RetrainRunner:
    return app_context(request.app).retrain_runner


@router.post("/retrain", status_code=status.HTTP_202_ACCEPTED)
async def start_retrain(request: Request, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    try:
        job_id = _runner(request).start(user.email)
    except RetrainBusy:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Đang huấn luyện rồi, hãy chờ xong. / "
                                                             "A retrain is already running.") from None
    audit(db, user, "content.retrain.start", f"retrain:{job_id}")
    db.commit()
    job = db.get(RetrainJob, job_id)
    assert job is not None
    return job_out(job)


@router.get("/retrain")
def list_retrains(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [job_out(j) for j in db.scalars(select(RetrainJob).order_by(RetrainJob.id.desc()).limit(20))]


@router.get("/retrain/{job_id}")
def get_retrain(job_id: RowId, db: DbSession, _user: ContentStaff) -> dict[str, Any]:
    job = db.get(RetrainJob, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có lần huấn luyện này. / No such job.")
    return job_out(job)
