"""The case JSON API under /api/v1 (the console uses exactly these routes) and the SSE stream."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from api.auth.audit import audit
from api.auth.models import User
from api.cases.events import EventBroker, format_sse
from api.cases.glimpses import earlier_messages
from api.cases.handoff import CaseActionError, HandoffService, previous_cases, reply_delivery
from api.cases.models import OUTCOMES, Case, CaseMessage, CaseNote
from api.cases.routing import user_role_token
from api.cases.service import _aware, _iso, case_summary
from api.context import app_context
from api.db.base import utcnow
from api.db.session import Database
from api.deps import ERROR_RESPONSES, CaseWorker, DbSession, RowId, get_database, mark_seen, user_from_token
from api.labels import shown_text, signal_label
from api.messaging.models import Conversation
from api.security.json_body import GuardedJsonRoute

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
HEARTBEAT_SECONDS = 15.0
MAX_TEXT = 4000


def get_handoff(request: Request) -> HandoffService:
    return app_context(request.app).handoff


def get_broker(request: Request) -> EventBroker:
    return app_context(request.app).case_events


Handoff = Annotated[HandoffService, Depends(get_handoff)]


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("nội dung trống")
        return value.strip()


class TransferBody(BaseModel):
    user_id: int


class HandbackBody(BaseModel):
    note: str = Field(default="", max_length=MAX_TEXT)


class CloseBody(BaseModel):
    outcome: str = Field(default="", validate_default=True)
    note: str = Field(default="", max_length=MAX_TEXT)
    # Required (api/cases/closing.py) when a supervisor closes a waiting high or imminent case nobody accepted.
    reason: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("outcome")
    @classmethod
    def _known(cls, value: str) -> str:
        if not value:
            raise ValueError("hãy chọn kết quả của ca trước khi đóng / choose an outcome")
        if value not in OUTCOMES:
            raise ValueError(f"outcome phải là một trong {', '.join(OUTCOMES)}")
        return value


async def _run(action: Any) -> Any:
    try:
        return await action
    except CaseActionError as exc:
        raise HTTPException(exc.status_code, detail=exc.detail) from None


@router.get("/cases/{case_id}")
def get_case(case_id: RowId, user: CaseWorker, session: DbSession, request: Request) -> dict[str, Any]:
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy ca.")
    crypto = app_context(request.app).crypto
    settings = app_context(request.app).settings
    conversation = session.get(Conversation, case.conversation_id)
    now = utcnow()
    body = case_summary(case, now)
    names = {u.id: u.display_name or f"#{u.id}" for u in session.scalars(select(User))}
    messages = session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id))
    delivery = reply_delivery(session, case.conversation_id)
    notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
    body.update({
        "signals": case.signals,
        "signal_labels": [signal_label(s) for s in case.signals],
        "earlier_messages": earlier_messages(session, crypto, case),
        "outcome": case.outcome,
        "accepted_at": _iso(case.accepted_at),
        "closed_at": _iso(case.closed_at),
        "assigned_to": names.get(case.assigned_user_id) if case.assigned_user_id else None,
        "conversation_state": conversation.state if conversation else None,
        "messages": [{"id": m.id, "author": m.author, "text": (text := crypto.decrypt(m.text_encrypted)),
                      "shown": shown_text(text) if m.author == "child" else text,
                      "risk_level": m.risk_level, "signals": m.signals, "at": _iso(m.created_at),
                      "by": names.get(m.user_id) if m.user_id else None,
                      "delivery": delivery.get(m.id) if m.author == "counselor" else None} for m in messages],
        "notes": [{"id": n.id, "kind": n.kind, "text": crypto.decrypt(n.text_encrypted), "at": _iso(n.created_at),
                   "by": names.get(n.user_id) if n.user_id else None} for n in notes],
        "previous_cases": [case_summary(c, now) | {"outcome": c.outcome} for c in previous_cases(session, case)],
        "reply_window_seconds_left": None,
    })
    if case.channel == "zalo":
        last = conversation.last_user_message_at if conversation else case.last_user_message_at
        if last is not None:
            window_end = _aware(last) + timedelta(days=getattr(settings, "zalo_reply_window_days", 7))
            body["reply_window_seconds_left"] = max(0, int((window_end - now).total_seconds()))
        else:
            body["reply_window_seconds_left"] = 0
    audit(session, user, "case.view", f"case:{case.id}", {})
    session.commit()
    return body


@router.post("/cases/{case_id}/accept")
async def accept_case(case_id: RowId, user: CaseWorker, handoff: Handoff) -> dict[str, Any]:
    case = await _run(handoff.accept(case_id, user))
    return case_summary(case)


@router.post("/cases/{case_id}/messages", status_code=status.HTTP_202_ACCEPTED)
async def reply_to_child(case_id: RowId, body: TextBody, user: CaseWorker, handoff: Handoff) -> dict[str, str]:
    await _run(handoff.reply(case_id, user, body.text))
    return {"status": "queued"}


@router.post("/cases/{case_id}/notes", status_code=status.HTTP_201_CREATED)
async def add_note(case_id: RowId, body: TextBody, user: CaseWorker, handoff: Handoff) -> dict[str, str]:
    await _run(handoff.add_note(case_id, user, body.text))
    return {"status": "saved"}


@router.post("/cases/{case_id}/transfer")
async def transfer_case(case_id: RowId, body: TransferBody, user: CaseWorker, handoff: Handoff) -> dict[str, Any]:
    case = await _run(handoff.transfer(case_id, user, body.user_id))
    return case_summary(case)


@router.post("/cases/{case_id}/handback")
async def hand_back(case_id: RowId, body: HandbackBody, user: CaseWorker, handoff: Handoff) -> dict[str, Any]:
    case = await _run(handoff.hand_back(case_id, user, body.note.strip()))
    return case_summary(case)


@router.post("/cases/{case_id}/close")
async def close_case(case_id: RowId, body: CloseBody, user: CaseWorker, handoff: Handoff) -> dict[str, Any]:
    case = await _run(handoff.close(case_id, user, body.outcome, body.note.strip(), body.reason))
    return case_summary(case)


@router.get("/events")
async def case_events(user: CaseWorker, request: Request, session: DbSession,
                      database: Annotated[Database, Depends(get_database)]) -> StreamingResponse:
    """Server-sent events for the console: new and changed cases, the child's messages live."""
    broker = get_broker(request)
    audit(session, user, "events.subscribe", "", {})
    session.commit()
    roles = frozenset({user.role, user_role_token(user.id)})  # alerts for this person only, too

    token = request.headers.get("authorization", "").partition(" ")[2]
    context = app_context(request.app)
    settings = context.settings
    # Subscribed before "ready" is sent, so nothing published after the console's reload is missed.
    subscription = broker.open(roles)

    def still_signed_in() -> bool:
        """The token may expire or the account be locked while the stream is open."""
        with database.session() as check:
            try:
                user_from_token(check, settings, token)
            except HTTPException:
                return False
        mark_seen(database, user)  # presence while the console is open
        return True

    async def stream() -> AsyncIterator[str]:
        next_event = asyncio.ensure_future(subscription.get())
        # The server is stopping: end the stream so it can exit (the console reconnects elsewhere).
        shutdown = asyncio.ensure_future(context.shutdown.wait())
        try:
            yield "retry: 2000\n" + format_sse({"type": "ready"})
            while True:
                done, _ = await asyncio.wait({next_event, shutdown}, timeout=HEARTBEAT_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if shutdown in done:
                    yield format_sse({"type": "server_stopping"})
                    break
                if await request.is_disconnected():
                    break
                if next_event in done:
                    yield format_sse(next_event.result())
                    next_event = asyncio.ensure_future(subscription.get())
                    continue
                try:
                    signed_in = await asyncio.to_thread(still_signed_in)
                except Exception as exc:  # database hiccup: keep the console connected
                    log.debug("session check failed: %s", type(exc).__name__)
                    signed_in = True
                if not signed_in:
                    yield format_sse({"type": "signed_out"})
                    break
                yield ": ping\n\n"
        finally:
            next_event.cancel()
            shutdown.cancel()
            subscription.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
