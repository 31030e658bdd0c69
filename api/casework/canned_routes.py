"""Canned replies API: every case worker reads them; supervisors and admins add, edit and remove."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, field_validator

from api.auth.audit import audit
from api.casework import canned
from api.casework.common import unprocessable
from api.casework.models import CannedReply
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, CaseWorker, DbSession, RowId, SupervisorUser
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["casework: canned replies"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class CannedIn(BaseModel):
    situation: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=canned.TEXT_LIMIT)

    @field_validator("situation", "title", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("không được để trống / must not be blank")
        return value.strip()


def _load(session: Any, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None or not reply.active:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy câu trả lời mẫu. / No such reply.")
    return reply


def _edit(reply: CannedReply, body: CannedIn) -> None:
    try:
        canned.apply_edit(reply, body.model_dump())
    except canned.ContentError as error:
        raise unprocessable(error.message) from None


@router.get("/canned-replies")
def list_canned(user: CaseWorker, session: DbSession) -> list[dict[str, Any]]:
    return [canned.reply_out(r) for r in canned.all_replies(session)]


@router.post("/canned-replies", status_code=status.HTTP_201_CREATED)
def create_canned(body: CannedIn, user: SupervisorUser, session: DbSession) -> dict[str, Any]:
    reply = CannedReply(key=canned.new_key(session, body.title), safety_critical=False, position=1000)
    _edit(reply, body)
    reply.updated_by, reply.updated_at = user.id, utcnow()
    session.add(reply)
    session.flush()
    audit(session, user, "canned_reply.create", f"canned_reply:{reply.id}", {"safety_critical": reply.safety_critical})
    session.commit()
    return canned.reply_out(reply)


@router.put("/canned-replies/{reply_id}")
def update_canned(reply_id: RowId, body: CannedIn, user: SupervisorUser, session: DbSession) -> dict[str, Any]:
    reply = _load(session, reply_id)
    _edit(reply, body)
    reply.updated_by, reply.updated_at = user.id, utcnow()
    audit(session, user, "canned_reply.update", f"canned_reply:{reply.id}", {"safety_critical": reply.safety_critical})
    session.commit()
    return canned.reply_out(reply)


@router.delete("/canned-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_canned(reply_id: RowId, user: SupervisorUser, session: DbSession) -> None:
    reply = _load(session, reply_id)
    reply.active, reply.updated_by, reply.updated_at = False, user.id, utcnow()
    audit(session, user, "canned_reply.delete", f"canned_reply:{reply_id}", {"key": reply.key})
    session.commit()
