"""Finding cases: GET /api/v1/cases with filters, paginated (the console's queue is its first page).

`q` matches a case's reference number ("123", "#123") or words of its notes. Message text is never
searched: it is encrypted with a random nonce, so a search would decrypt every message of every case.
Notes are few and written by staff; those of the cases the other filters keep are decrypted, newest
first and at most NOTE_SEARCH_LIMIT of them (the answer says when that limit was reached).

`commune` matches the commune/ward of the structured case record, whose values are encrypted too:
the records of the cases the other filters keep are decrypted, newest first and at most
`RECORD_SEARCH_LIMIT` (api/casework/attributes.py), by the reader on the app context
(`case_records(context)`, see api/cases/attributes.py for why it is injected).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.cases.attributes import case_records
from api.cases.glimpses import excerpts
from api.cases.models import CASE_STATUSES, Case, CaseNote
from api.cases.service import case_summary
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, INT64_MAX, AppSettings, CaseWorker, Ctx, DbSession
from api.messaging.risk import LEVELS as RISK_LEVELS
from api.security.crypto import Crypto
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=GuardedJsonRoute, responses=ERROR_RESPONSES)
NOTE_SEARCH_LIMIT = 2000
MAX_PER_PAGE = 500
_REFERENCE = re.compile(r"^#?\s*(\d{1,18})$")


def _split(value: str | None, allowed: tuple[str, ...] | None, name: str) -> list[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    unknown = [v for v in items if allowed is not None and v not in allowed]
    if unknown or any(len(v) > 64 for v in items):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"{name} không hợp lệ / invalid {name}: {', '.join(unknown)[:200]}")
    return items


def fold(text: str) -> str:
    """Lowercase, without Vietnamese diacritics, spaces collapsed ("Nhà Bà" → "nha ba")."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return " ".join("".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").split())


@dataclass
class CaseFilters:
    statuses: list[str]
    levels: list[str]
    categories: list[str]
    commune: str | None
    counselor: int | None
    opened_from: datetime | None
    opened_to: datetime | None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [Case.status.in_(self.statuses)]
        if self.levels:
            found.append(Case.level.in_(self.levels))
        if self.categories:
            found.append(Case.category.in_(self.categories))
        if self.counselor is not None:
            found.append(Case.assigned_user_id == self.counselor)
        if self.opened_from is not None:
            found.append(Case.opened_at >= self.opened_from)
        if self.opened_to is not None:
            found.append(Case.opened_at < self.opened_to)
        return found


def local_day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and ends."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), zone)
    # In UTC, as every instant is stored: SQLite compares the stored text and ignores an offset.
    return start.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)


def matching_ids_by_text(session: Session, crypto: Crypto, conditions: list[ColumnElement[bool]],
                         q: str) -> tuple[set[int], bool]:
    """Ids of the filtered cases whose reference number or notes match `q`; and whether the note
    limit cut the search short."""
    found: set[int] = set()
    reference = _REFERENCE.match(q.strip())
    if reference and int(reference.group(1)) <= INT64_MAX:
        found.update(session.scalars(select(Case.id).where(Case.id == int(reference.group(1)), *conditions)))
    wanted = fold(q)
    notes = session.execute(select(CaseNote.case_id, CaseNote.text_encrypted).join(Case, Case.id == CaseNote.case_id)
                            .where(*conditions).order_by(CaseNote.id.desc()).limit(NOTE_SEARCH_LIMIT + 1)).all()
    truncated = len(notes) > NOTE_SEARCH_LIMIT
    for case_id, encrypted in notes[:NOTE_SEARCH_LIMIT]:
        if case_id not in found and wanted in fold(crypto.decrypt(encrypted)):
            found.add(case_id)
    return found, truncated


def queue_order(query: Select[Any]) -> Select[Any]:
    """Risk first, then waiting before held before bot-handled, then the longest waiting."""
    status_order = sql_case({"waiting": 0, "active": 1, "open": 2}, value=Case.status, else_=3)
    return query.order_by(Case.level_rank.desc(), status_order, Case.waiting_since.asc().nulls_last(),
                          Case.opened_at.asc(), Case.id.asc())


@router.get("/cases")
def search_cases(user: CaseWorker, session: DbSession, settings: AppSettings, context: Ctx, request: Request,
                 response: Response,
                 status_filter: Annotated[str | None, Query(alias="status")] = None,
                 level: str | None = None, category: str | None = None,
                 commune: Annotated[str | None, Query(max_length=100)] = None,
                 counselor: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
                 date_from: Annotated[date | None, Query(alias="from")] = None,
                 date_to: Annotated[date | None, Query(alias="to")] = None,
                 q: Annotated[str | None, Query(max_length=200)] = None,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 100) -> list[dict[str, Any]]:
    """Cases by status (default: every case not closed; "all" for every status), level, category,
    commune/ward, assigned counselor, opening date (local days, `to` included) and `q`. The body is
    the page's cases; X-Total-Count, X-Page, X-Per-Page and Link (rel="next") describe the pages."""
    statuses = _split(status_filter, (*CASE_STATUSES, "all"), "status") or ["open", "waiting", "active"]
    if "all" in statuses:
        statuses = list(CASE_STATUSES)
    if date_from and date_to and date_to < date_from:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="'to' trước 'from' / 'to' is before 'from'")
    filters = CaseFilters(statuses, _split(level, RISK_LEVELS, "level"), _split(category, None, "category"),
                          (commune or "").strip() or None, counselor,
                          local_day_bounds(date_from, settings.timezone)[0] if date_from else None,
                          local_day_bounds(date_to, settings.timezone)[1] if date_to else None)
    conditions = filters.conditions()
    truncated = records_truncated = False
    if filters.commune:
        # Bounded: only the records of the cases the other filters keep are decrypted (like `q` below).
        by_commune = case_records(context).commune_filter(session, conditions, filters.commune)
        conditions.append(by_commune.condition)
        records_truncated = by_commune.truncated
    if q and q.strip():
        ids, truncated = matching_ids_by_text(session, context.crypto, conditions, q)
        conditions.append(Case.id.in_(ids))
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    rows = session.scalars(queue_order(select(Case).where(*conditions)).offset((page - 1) * per_page).limit(per_page))
    now = utcnow()
    cases = [case_summary(c, now) for c in rows]
    shown = excerpts(session, context.crypto, [c["id"] for c in cases])  # the child's latest words
    for summary in cases:
        summary["excerpt"] = shown.get(summary["id"], "")
    _page_headers(request, response, total, (page, per_page), truncated)
    if records_truncated:
        response.headers["X-Record-Search-Truncated"] = "true"
    audit(session, user, "case.list", "", {
        "status": statuses, "level": filters.levels, "category": filters.categories, "commune": filters.commune,
        "counselor": counselor, "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None, "q": bool(q and q.strip()), "page": page,
        "count": len(cases), "total": total})  # never the words searched for: they may name a child
    session.commit()
    return cases


def _page_headers(request: Request, response: Response, total: int, paging: tuple[int, int], truncated: bool) -> None:
    page, per_page = paging
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Page"] = str(page)
    response.headers["X-Per-Page"] = str(per_page)
    if truncated:
        response.headers["X-Note-Search-Truncated"] = "true"
    if page * per_page < total:
        following = request.url.include_query_params(page=page + 1, per_page=per_page)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
