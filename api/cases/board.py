"""The supervisor board: cases waiting against their accept targets, who is online and on call and
how many cases each holds; a supervisor reassigns a case from it.

Accept targets are ESCALATION_MINUTES_IMMINENT and ESCALATION_MINUTES_HIGH (the same minutes after
which reminders go out); a waiting concern case (the child asked for a person) has the high target.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import User
from api.cases.handoff import CaseActionError, HandoffService
from api.cases.models import Case, CaseStatus
from api.cases.ops_models import CaseAlertRoute
from api.cases.roster import ON_CALL_ROLES, on_call_user_ids
from api.cases.service import case_summary
from api.context import app_context
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, INT64_MAX, DbSession, RowId, SupervisorUser
from api.messaging.risk import RiskLevel
from api.security.json_body import GuardedJsonRoute
from api.settings import Settings

router = APIRouter(prefix="/api/v1/supervisor", tags=["supervisor"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


def accept_target_seconds(settings: Settings, level: str) -> int:
    minutes = settings.escalation_minutes_imminent if level == RiskLevel.IMMINENT else settings.escalation_minutes_high
    return minutes * 60


def waiting_cases(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Waiting cases, most urgent first, each with its target, how far past it, its alert stage."""
    rows = session.execute(select(Case, CaseAlertRoute.stage)
                           .outerjoin(CaseAlertRoute, CaseAlertRoute.case_id == Case.id)
                           .where(Case.status == CaseStatus.WAITING)
                           .order_by(Case.level_rank.desc(), Case.waiting_since.asc().nulls_last(), Case.id))
    cases = []
    for case, stage in rows:
        summary = case_summary(case, now)
        target = accept_target_seconds(settings, case.level)
        summary.update({"target_seconds": target, "breach": summary["waiting_seconds"] > target,
                        "over_target_seconds": max(0, summary["waiting_seconds"] - target), "alert_stage": stage})
        cases.append(summary)
    return cases


def staff_on_board(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Counselors and supervisors: online, on call, and how many cases each holds now."""
    loads = dict(session.execute(select(Case.assigned_user_id, func.count()).where(
        Case.status == CaseStatus.ACTIVE, Case.assigned_user_id.is_not(None)).group_by(Case.assigned_user_id)).all())
    on_call = set(on_call_user_ids(session, settings.timezone, now))
    people = session.scalars(select(User).where(User.active.is_(True), User.role.in_(ON_CALL_ROLES))
                             .order_by(User.display_name, User.id))
    return [{"id": u.id, "name": u.display_name or f"#{u.id}", "role": u.role,
             "online": u.is_online(now, settings.counselor_online_seconds), "on_call": u.id in on_call,
             "load": int(loads.get(u.id, 0))} for u in people]


def active_cases(session: Session, now: datetime) -> list[dict[str, Any]]:
    rows = session.scalars(select(Case).where(Case.status == CaseStatus.ACTIVE)
                           .order_by(Case.level_rank.desc(), Case.accepted_at.asc().nulls_last(), Case.id))
    return [case_summary(case, now) | {"accepted_at": case.accepted_at.isoformat() if case.accepted_at else None}
            for case in rows]


@router.get("/board")
def board(user: SupervisorUser, session: DbSession, request: Request) -> dict[str, Any]:
    settings = app_context(request.app).settings
    now = utcnow()
    waiting = waiting_cases(session, settings, now)
    staff = staff_on_board(session, settings, now)
    body = {
        "now": now.isoformat(),
        "targets": {"imminent": accept_target_seconds(settings, "imminent"),
                    "high": accept_target_seconds(settings, "high")},
        "waiting": waiting,
        "active": active_cases(session, now),
        "staff": staff,
        "totals": {"waiting": len(waiting), "breaches": sum(1 for c in waiting if c["breach"]),
                   "online": sum(1 for s in staff if s["online"]), "on_call": sum(1 for s in staff if s["on_call"])},
    }
    audit(session, user, "board.view", "", {"waiting": len(waiting)})
    session.commit()
    return body


class AssignBody(BaseModel):
    user_id: int = Field(ge=1, le=INT64_MAX)


def _handoff(request: Request) -> HandoffService:
    return app_context(request.app).handoff


@router.post("/board/cases/{case_id}/assign")
async def reassign(case_id: RowId, body: AssignBody, user: SupervisorUser, session: DbSession,
                   handoff: Annotated[HandoffService, Depends(_handoff)]) -> dict[str, Any]:
    """A waiting case: accepted on the chosen person's behalf. A held case: transferred to them."""
    case = session.get(Case, case_id)
    target = session.get(User, body.user_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy ca. / No such case.")
    if target is None or not target.active or target.role not in ON_CALL_ROLES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="Người nhận phải là tư vấn viên hoặc giám sát đang hoạt động. "
                                   "/ The person must be an active counselor or supervisor.")
    previous, was, target_id = case.assigned_user_id, case.status, target.id
    session.rollback()  # the handoff service writes in its own transactions
    try:
        if was in (CaseStatus.OPEN, CaseStatus.WAITING):
            changed = await handoff.accept(case_id, target)
        else:
            changed = await handoff.transfer(case_id, user, target_id)
    except CaseActionError as exc:
        raise HTTPException(exc.status_code, detail=exc.detail) from None
    audit(session, user, "board.reassign", f"case:{case_id}", {"from": previous, "to": target_id, "status": was})
    session.commit()
    return case_summary(changed)
