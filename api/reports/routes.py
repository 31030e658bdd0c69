"""GET /api/v1/reports/monthly(.csv)?month=YYYY-MM and the printable page /reports/monthly."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from api.auth.audit import audit
from api.cases.attributes import case_records
from api.console.routes import SECURITY_HEADERS
from api.deps import ERROR_RESPONSES, Ctx, DbSession, SupervisorUser
from api.reports.monthly import collect, publish
from api.security.json_body import GuardedJsonRoute
from api.ui import CSS, JAVASCRIPT, ui_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
page_router = ui_router("/reports/monthly", STATIC_DIR, assets_path="/reports/assets",
                        assets={"report.js": JAVASCRIPT, "report.css": CSS}, page_headers=SECURITY_HEADERS)

Month = Annotated[str, Query(description="YYYY-MM, a calendar month in TIMEZONE")]


def _report(user: Any, session: DbSession, context: Ctx, month: str, form: str) -> dict[str, Any]:
    if not _MONTH.match(month) or not 2000 <= int(month[:4]) <= 2100:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="month phải có dạng YYYY-MM / month must be YYYY-MM")
    body = publish(collect(session, month, context.settings.timezone, case_records(context)))
    audit(session, user, "report.monthly", f"month:{month}", {"format": form})
    session.commit()
    return body


@router.get("/monthly")
def monthly(user: SupervisorUser, session: DbSession, context: Ctx, month: Month) -> dict[str, Any]:
    return _report(user, session, context, month, "json")


@router.get("/monthly.csv", response_class=Response)
def monthly_csv(user: SupervisorUser, session: DbSession, context: Ctx, month: Month) -> Response:
    body = _report(user, session, context, month, "csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "value"])
    for section, item, value in flatten(body):
        writer.writerow([section, item, value])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="bao-cao-{month}.csv"', "Cache-Control": "no-store"})


def flatten(body: dict[str, Any], prefix: str = "") -> list[tuple[str, str, Any]]:
    """Nested report → (section, item, value) rows; the last key is the item."""
    rows: list[tuple[str, str, Any]] = []
    for key, value in body.items():
        if key in ("suppression", "month"):
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            rows.extend(flatten(value, path))
        else:
            section, _, item = path.rpartition(".")
            rows.append((section, item, "" if value is None else value))
    return rows
