"""Content routes: the campaign dashboard."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from api.content import dashboard
from api.content.deps import ContentStaff
from api.deps import ERROR_RESPONSES, AppSettings, DbSession
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: dashboard"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


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
