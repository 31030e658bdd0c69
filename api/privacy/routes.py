"""The privacy API: a person's data (export, erase) for admins; erasure requests and legal holds
for supervisors; the retention policy and the consent records. Every call is audited."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.cases.models import Case
from api.deps import ERROR_RESPONSES, AdminUser, AppSettings, DbSession, RowId, SupervisorUser
from api.privacy import service, texts
from api.privacy.consent import consents_of
from api.privacy.erasure import blockers, find_conversation
from api.privacy.export import export_conversation
from api.privacy.models import ConsentRecord, ErasureRequest, ErasureStatus, LegalHold
from api.privacy.policy import RetentionPolicy
from api.privacy.runtime import privacy_runtime
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
Channel = Literal["telegram", "zalo", "web"]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("không được để trống / must not be blank")
    return value.strip()


class PersonIn(BaseModel):
    channel: Channel
    user_id: str = Field(min_length=1, max_length=128)

    _check_user = field_validator("user_id")(classmethod(lambda cls, value: _not_blank(value)))


class EraseIn(PersonIn):
    reason: str = Field(min_length=1, max_length=500)

    _check_reason = field_validator("reason")(classmethod(lambda cls, value: _not_blank(value)))


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field(min_length=1, max_length=500)

    _check_reason = field_validator("reason")(classmethod(lambda cls, value: _not_blank(value)))


class HoldIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)

    _check_reason = field_validator("reason")(classmethod(lambda cls, value: _not_blank(value)))


def _refused(exc: service.ErasureRefused) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.detail)


@router.get("/retention")
def retention(_user: AdminUser, settings: AppSettings) -> list[dict[str, Any]]:
    """The retention policy in force (from the settings)."""
    return RetentionPolicy.from_settings(settings).as_table()


@router.post("/export")
def export_person(body: PersonIn, user: AdminUser, session: DbSession, request: Request) -> dict[str, Any]:
    """Everything held about one person, decrypted (an access request)."""
    crypto = privacy_runtime(request.app).crypto
    conversation = find_conversation(session, crypto, body.channel, body.user_id)
    result = export_conversation(session, crypto, conversation, body.channel)
    audit(session, user, "privacy.export", f"conversation:{conversation.id}" if conversation else "",
          {"channel": body.channel, "found": conversation is not None})
    session.commit()
    return result


@router.post("/erase")
def erase_person(body: EraseIn, user: AdminUser, session: DbSession, request: Request) -> dict[str, Any]:
    """Erase one person's data now; 409 while they have an open or held case (the request then
    waits for a supervisor: GET /api/v1/privacy/requests)."""
    runtime = privacy_runtime(request.app)
    conversation = find_conversation(session, runtime.crypto, body.channel, body.user_id)
    if conversation is None:
        audit(session, user, "privacy.erase", "", {"channel": body.channel, "found": False})
        session.commit()
        return {"found": False, "request_id": None, "erased": {}}
    found = blockers(session, conversation.id)
    if found:
        waiting = service.request_for_supervisor(session, conversation, found, via="api", reason=body.reason,
                                                 user=user)
        session.commit()
        raise HTTPException(status.HTTP_409_CONFLICT, detail=(
            f"Người này đang có ca chưa đóng hoặc đang bị giữ: yêu cầu #{waiting.id} chờ giám sát viên quyết định. / "
            f"This person has an open or held case: request #{waiting.id} awaits a supervisor."))
    tracker_events = runtime.trackers.delete([conversation.sender_id])
    erased, counts = service.erase_now(session, conversation, via="api", reason=body.reason, user=user,
                                       tracker_events=tracker_events)
    session.commit()
    return {"found": True, "request_id": erased.id, "erased": dict(counts)}


@router.get("/requests")
def list_requests(_user: SupervisorUser, session: DbSession,
                  status_filter: Annotated[str | None, Query(alias="status")] = None) -> list[dict[str, Any]]:
    """Erasure requests, newest first (default: those waiting for a supervisor)."""
    wanted = status_filter or ErasureStatus.SUPERVISOR
    if wanted not in {member.value for member in ErasureStatus}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"Trạng thái không hợp lệ / unknown status: {wanted}")
    query = select(ErasureRequest).where(ErasureRequest.status == wanted).order_by(ErasureRequest.id.desc())
    return [service.request_out(item) for item in session.scalars(query.limit(500))]


@router.post("/requests/{request_id}/decision")
def decide(request_id: RowId, body: DecisionIn, user: SupervisorUser, session: DbSession,
           request: Request) -> dict[str, Any]:
    """A supervisor approves (the erasure starts) or declines a waiting request, saying why."""
    runtime = privacy_runtime(request.app)
    erasure = session.get(ErasureRequest, request_id)
    if erasure is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có yêu cầu này. / No such request.")
    notice = _notice(session, runtime, erasure, body.approve)
    try:
        service.decide(session, erasure, approve=body.approve, reason=body.reason, user=user,
                       crypto=runtime.crypto, notice=notice)
    except service.ErasureRefused as exc:
        raise _refused(exc) from None
    session.commit()
    runtime.wake_finisher()
    return service.request_out(erasure)


def _notice(session: Session, runtime: Any, erasure: ErasureRequest, approve: bool) -> dict[str, Any] | None:
    """What the child is told, when they asked in the chat themselves."""
    if erasure.via != "chat":
        return None
    text = texts.ERASE_APPROVED if approve else texts.ERASE_DECLINED
    return runtime.texts.render(session, text, erasure.channel)


@router.get("/holds")
def list_holds(_user: SupervisorUser, session: DbSession) -> list[dict[str, Any]]:
    return [_hold_out(hold) for hold in session.scalars(select(LegalHold).order_by(LegalHold.case_id))]


@router.put("/holds/{case_id}")
def hold_case(case_id: RowId, body: HoldIn, user: SupervisorUser, session: DbSession) -> dict[str, Any]:
    """Place a case under legal hold: the purge and erasure leave it and its conversation alone."""
    if session.get(Case, case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có ca này. / No such case.")
    hold = session.get(LegalHold, case_id)
    if hold is None:
        hold = LegalHold(case_id=case_id, held_by=user.id, reason=body.reason)
        session.add(hold)
    else:
        hold.reason, hold.held_by = body.reason, user.id
    audit(session, user, "privacy.legal_hold", f"case:{case_id}", {"held": True})
    session.commit()
    return _hold_out(hold)


@router.post("/holds/{case_id}/release")
def release_case(case_id: RowId, body: HoldIn, user: SupervisorUser, session: DbSession) -> dict[str, Any]:
    hold = session.get(LegalHold, case_id)
    if hold is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Ca này không bị giữ. / This case is not held.")
    session.delete(hold)
    audit(session, user, "privacy.legal_hold", f"case:{case_id}", {"held": False, "reason_given": True})
    session.commit()
    return {"case_id": case_id, "held": False}


def _hold_out(hold: LegalHold) -> dict[str, Any]:
    return {"case_id": hold.case_id, "held": True, "held_by": hold.held_by, "reason": hold.reason,
            "held_at": hold.held_at.isoformat() if hold.held_at else None}


@router.post("/consents")
def person_consents(body: PersonIn, user: AdminUser, session: DbSession, request: Request) -> dict[str, Any]:
    """One person's consent record: notice shown, purposes and their legal basis."""
    conversation = find_conversation(session, privacy_runtime(request.app).crypto, body.channel, body.user_id)
    records = consents_of(session, conversation.id) if conversation is not None else []
    audit(session, user, "privacy.consents", f"conversation:{conversation.id}" if conversation else "",
          {"channel": body.channel, "found": conversation is not None})
    session.commit()
    return {"found": conversation is not None, "consents": records}


@router.get("/consents/summary")
def consent_summary(_user: AdminUser, session: DbSession) -> list[dict[str, Any]]:
    """Per purpose: its legal basis, conversations shown the notice, consents given and withdrawn."""
    query = (select(ConsentRecord.purpose, ConsentRecord.legal_basis, func.count(ConsentRecord.notice_shown_at),
                    func.count(ConsentRecord.granted_at), func.count(ConsentRecord.withdrawn_at))
             .group_by(ConsentRecord.purpose, ConsentRecord.legal_basis).order_by(ConsentRecord.purpose))
    return [{"purpose": purpose, "legal_basis": basis, "notice_shown": shown, "granted": granted,
             "withdrawn": withdrawn} for purpose, basis, shown, granted, withdrawn in session.execute(query)]

