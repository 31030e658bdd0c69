"""Referrals API: refer a case, follow it up, list the overdue ones, print the referral form."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from api.auth.audit import audit
from api.auth.models import User
from api.casework import referrals
from api.casework.common import check_may_change, load_case, unprocessable
from api.casework.form import FORM_POLICY, referral_form
from api.casework.mailer import smtp_configured
from api.casework.models import REFERRAL_STATUSES, Referral
from api.casework.records import record_of, values_of
from api.content.directory import all_entries
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, CaseWorker, Ctx, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["casework: referrals"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
TEXT_LIMIT = 2000
STATUS_LABELS = {"sent": "Đã gửi", "acknowledged": "Nơi nhận đã xác nhận", "in_progress": "Đang xử lý",
                 "done": "Đã xong", "declined": "Nơi nhận từ chối"}


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("không được để trống / must not be blank")
    return value.strip()


class ReferralIn(BaseModel):
    recipient: str = Field(min_length=1, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    reason: str = Field(min_length=1, max_length=TEXT_LIMIT)
    shared: str = Field(min_length=1, max_length=TEXT_LIMIT)
    due_date: date

    @field_validator("reason", "shared")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _text(value)


class ReferralPatch(BaseModel):
    status: str | None = None
    due_date: date | None = None

    @field_validator("status")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in REFERRAL_STATUSES:
            raise ValueError(f"status phải là một trong {', '.join(REFERRAL_STATUSES)}")
        return value


def _load(session: Any, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy chuyển tuyến. / No such referral.")
    return referral


@router.get("/referral-recipients")
def list_recipients(user: CaseWorker, session: DbSession) -> list[dict[str, str]]:
    """Where a case may be referred: the fixed services and every entry of the help directory."""
    fixed = [{"value": key, "label": label} for key, label in referrals.RECIPIENTS.items() if key != "other"]
    listed = [{"value": f"{referrals.DIRECTORY_PREFIX}{e.id}", "label": f"Danh bạ: {e.name} ({e.phone})"}
              for e in all_entries(session)]
    return fixed + listed + [{"value": "other", "label": referrals.RECIPIENTS["other"]}]


@router.post("/cases/{case_id}/referrals", status_code=status.HTTP_201_CREATED)
def create_referral(case_id: RowId, body: ReferralIn, user: CaseWorker, session: DbSession,
                    context: Ctx) -> dict[str, Any]:
    case = load_case(session, case_id)
    check_may_change(case, user)
    crypto, settings = context.crypto, context.settings
    today = referrals.local_today(settings)
    try:
        email = referrals.check_email(body.email)
        due = referrals.check_due_date(body.due_date, today)
        place = values_of(record_of(session, case.id), crypto)
        kind, directory_id, name = referrals.resolve_recipient(session, body.recipient.strip(), place)
    except referrals.ReferralError as error:
        raise unprocessable(str(error)) from None
    email_status = "none" if email is None else ("pending" if smtp_configured(settings) else "not_configured")
    referral = Referral(case_id=case.id, recipient=kind, directory_id=directory_id, recipient_name=name[:200],
                        email=email, reason_encrypted=crypto.encrypt(body.reason),
                        shared_encrypted=crypto.encrypt(body.shared), status="sent", due_date=due,
                        created_by=user.id, email_status=email_status)
    session.add(referral)
    session.flush()
    audit(session, user, "case.referral.create", f"case:{case.id}",
          {"referral_id": referral.id, "recipient": kind, "email": email_status, "due_date": due.isoformat()})
    session.commit()
    if email_status == "pending":
        context.referral_follow_up.wake()
    return referrals.referral_out(referral, crypto, today)


@router.patch("/referrals/{referral_id}")
def update_referral(referral_id: RowId, body: ReferralPatch, user: CaseWorker, session: DbSession,
                    context: Ctx) -> dict[str, Any]:
    """Follow-up: the recipient's answer (status), or a new follow-up date (re-arms the overdue alert)."""
    referral = _load(session, referral_id)
    today = referrals.local_today(context.settings)
    changes: dict[str, Any] = {}
    if body.status is not None and body.status != referral.status:
        changes["status"] = [referral.status, body.status]
        referral.status = body.status
    if body.due_date is not None and body.due_date != referral.due_date:
        try:
            referral.due_date = referrals.check_due_date(body.due_date, today)
        except referrals.ReferralError as error:
            raise unprocessable(str(error)) from None
        referral.overdue_alerted_at = None
        changes["due_date"] = body.due_date.isoformat()
    if changes:
        referral.updated_at = utcnow()
        audit(session, user, "case.referral.update", f"case:{referral.case_id}",
              {"referral_id": referral.id, **changes})
        session.commit()
    return referrals.referral_out(referral, context.crypto, today)


@router.get("/referrals")
def list_referrals(user: CaseWorker, session: DbSession, context: Ctx,
                   overdue: bool = False,
                   case_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> list[dict[str, Any]]:
    """Referrals (newest first), only the overdue follow-ups with `overdue=true`, one case's with `case_id`."""
    today = referrals.local_today(context.settings)
    query = referrals.overdue_query(today) if overdue else select(Referral)
    if case_id is not None:
        query = query.where(Referral.case_id == case_id)
    rows = list(session.scalars(query.order_by(Referral.due_date, Referral.id).limit(500)))
    audit(session, user, "referral.list", f"case:{case_id}" if case_id else "",
          {"overdue": overdue, "count": len(rows)})
    session.commit()
    return [referrals.referral_out(r, context.crypto, today) for r in rows]


@router.get("/referrals/{referral_id}/form", response_class=HTMLResponse)
def referral_form_page(referral_id: RowId, user: CaseWorker, session: DbSession, context: Ctx,
                       request: Request) -> HTMLResponse:
    """The one-page referral form, styled for print."""
    referral = _load(session, referral_id)
    author = session.get(User, referral.created_by) if referral.created_by else None
    lines = referrals.message_lines(referral, context.crypto, (author.display_name if author else "") or "")
    stylesheet = str(request.base_url).rstrip("/") + "/console/assets/casework-print.css"
    html = referral_form(lines, STATUS_LABELS.get(referral.status, referral.status), stylesheet)
    audit(session, user, "case.referral.print", f"case:{referral.case_id}", {"referral_id": referral.id})
    session.commit()
    return HTMLResponse(html, headers={"Content-Security-Policy": FORM_POLICY})
