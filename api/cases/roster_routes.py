"""GET/PUT /api/v1/roster: the on-call roster as data (roster.py); who is on call now."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.auth.audit import audit
from api.cases.roster import Roster, on_call_user_ids, replace_roster, roster_as_data, unknown_people
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, AppSettings, CaseWorker, DbSession, SupervisorUser
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["roster"], route_class=GuardedJsonRoute, responses=ERROR_RESPONSES)


def _answer(session: DbSession, settings: AppSettings) -> dict[str, Any]:
    return roster_as_data(session) | {"timezone": settings.timezone,
                                      "on_call_now": on_call_user_ids(session, settings.timezone, utcnow())}


@router.get("/roster")
def get_roster(user: CaseWorker, session: DbSession, settings: AppSettings) -> dict[str, Any]:
    body = _answer(session, settings)
    audit(session, user, "roster.view", "", {})
    session.commit()
    return body


@router.put("/roster")
def put_roster(body: Roster, user: SupervisorUser, session: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Replaces the whole roster (weekly pattern, dated exceptions, Telegram contacts)."""
    unknown = unknown_people(session, body)
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="Chỉ tư vấn viên hoặc giám sát đang hoạt động mới trực được: "
                                   f"{', '.join(f'#{i}' for i in unknown)} / only active counselors or supervisors "
                                   "can be on call")
    replace_roster(session, body)
    audit(session, user, "roster.update", "roster", {"weekly": len(body.weekly), "exceptions": len(body.exceptions),
                                                     "contacts": len(body.contacts)})
    session.commit()
    return _answer(session, settings)
