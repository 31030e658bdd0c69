"""Erasure requests: asked in the chat, by an admin, or decided by a supervisor, and their last step.

Every erasure ends the same way: the request goes to `erasing` (what can go at once is gone, the
conversation row waits only for the last notice to the child to be delivered), then `finish`
deletes the conversation and its Rasa tracker and leaves the request as a tombstone: channel,
dates and counts, no pseudonymous id. Everything is written to the audit log, never with text or ids.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import User
from api.db.base import utcnow
from api.messaging.models import Conversation
from api.messaging.outbox import enqueue
from api.privacy.erasure import Blockers, blockers, erase_conversation, held_case_ids
from api.privacy.models import ErasureRequest, ErasureStatus
from api.security.crypto import Crypto

OPEN_STATUSES = (ErasureStatus.AWAITING_CONFIRMATION, ErasureStatus.SUPERVISOR, ErasureStatus.ERASING)


class ErasureRefused(Exception):
    """The erasure cannot go ahead (HTTP status and a Vietnamese / English message)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _new_request(session: Session, conversation: Conversation, *, via: str, status: ErasureStatus,
                 reason: str = "", user: User | None = None) -> ErasureRequest:
    request = ErasureRequest(channel=conversation.channel, sender_id=conversation.sender_id,
                             conversation_id=conversation.id, via=via, status=status, reason=reason[:500],
                             requested_by=user.id if user else None, counts={})
    session.add(request)
    session.flush()
    return request


def request_for_supervisor(session: Session, conversation: Conversation, found: Blockers, *, via: str,
                           reason: str = "", user: User | None = None) -> ErasureRequest:
    """Record that this person asked for erasure while a case is open or held (once: a request
    already waiting is reused)."""
    waiting = session.scalar(select(ErasureRequest).where(
        ErasureRequest.conversation_id == conversation.id, ErasureRequest.status == ErasureStatus.SUPERVISOR))
    request = waiting or _new_request(session, conversation, via=via, status=ErasureStatus.SUPERVISOR,
                                      reason=reason, user=user)
    audit(session, user, "privacy.erasure_requested", f"erasure:{request.id}",
          {"via": via, "needs_supervisor": True, **found.as_dict()})
    return request


def ask_confirmation(session: Session, conversation: Conversation) -> ErasureRequest:
    for earlier in pending_confirmations(session, conversation.id):
        earlier.status = ErasureStatus.CANCELLED
    request = _new_request(session, conversation, via="chat", status=ErasureStatus.AWAITING_CONFIRMATION)
    audit(session, None, "privacy.erasure_requested", f"erasure:{request.id}", {"via": "chat"})
    return request


def pending_confirmations(session: Session, conversation_id: int) -> list[ErasureRequest]:
    return list(session.scalars(select(ErasureRequest).where(
        ErasureRequest.conversation_id == conversation_id,
        ErasureRequest.status == ErasureStatus.AWAITING_CONFIRMATION).order_by(ErasureRequest.id)))


def confirmable(session: Session, conversation_id: int, minutes: int) -> ErasureRequest | None:
    """The chat request "đồng ý" would confirm now (asked within the last `minutes`)."""
    requests = pending_confirmations(session, conversation_id)
    if not requests:
        return None
    latest = requests[-1]
    asked = latest.created_at if latest.created_at.tzinfo else latest.created_at.replace(tzinfo=utcnow().tzinfo)
    return latest if utcnow() - asked <= timedelta(minutes=minutes) else None


def start_erasing(session: Session, request: ErasureRequest, conversation: Conversation, crypto: Crypto, *,
                  notice: dict[str, Any] | None = None, keep_inbound_id: int | None = None,
                  user: User | None = None) -> Counter[str]:
    """Erase all but the conversation row now; the last notice (if any) is queued to the child."""
    counts = erase_conversation(session, conversation, keep_row=True, keep_inbound_id=keep_inbound_id)
    if notice is not None:
        enqueue(session, conversation, [notice], "system", idempotency_prefix=f"erasure:{request.id}",
                crypto=crypto)
    request.status = ErasureStatus.ERASING
    request.decided_at = request.decided_at or utcnow()
    request.counts = dict(counts)
    audit(session, user, "privacy.erasure_started", f"erasure:{request.id}",
          {"via": request.via, "counts": dict(counts)})
    return counts


def finish(session: Session, request: ErasureRequest, *, tracker_events: int = 0,
           user: User | None = None) -> Counter[str]:
    """Delete what is left (the conversation row and its last rows) and keep the tombstone."""
    counts: Counter[str] = Counter(request.counts or {})
    conversation = session.get(Conversation, request.conversation_id) if request.conversation_id else None
    if conversation is not None:
        if held_case_ids(session, conversation.id):
            raise ErasureRefused(409, "Ca của người này đang bị giữ theo yêu cầu pháp lý. / "
                                      "A case of this person is under legal hold.")
        counts.update(erase_conversation(session, conversation))
    if tracker_events:
        counts["rasa_tracker"] += tracker_events
    request.status = ErasureStatus.DONE
    request.finished_at = utcnow()
    request.sender_id = None
    request.conversation_id = None
    request.counts = dict(counts)
    audit(session, user, "privacy.erased", f"erasure:{request.id}", {"via": request.via, "counts": dict(counts)})
    return counts


def erase_now(session: Session, conversation: Conversation, *, via: str, reason: str, user: User | None,
              tracker_events: int = 0) -> tuple[ErasureRequest, Counter[str]]:
    """An admin's erasure of a person without an open or held case (the caller checked)."""
    request = _new_request(session, conversation, via=via, status=ErasureStatus.ERASING, reason=reason, user=user)
    request.decided_by, request.decided_at = (user.id if user else None), utcnow()
    return request, finish(session, request, tracker_events=tracker_events, user=user)


def decide(session: Session, request: ErasureRequest, *, approve: bool, reason: str, user: User,
           crypto: Crypto, notice: dict[str, Any] | None) -> ErasureRequest:
    """A supervisor's decision on a request that waited for one. Approved: the erasure starts (the
    child, if they asked in the chat, gets `notice` first); declined: recorded, the child told."""
    if request.status != ErasureStatus.SUPERVISOR:
        raise ErasureRefused(409, "Yêu cầu này không chờ quyết định. / This request is not waiting for a decision.")
    conversation = session.get(Conversation, request.conversation_id) if request.conversation_id else None
    request.decided_by, request.decided_at, request.decision_reason = user.id, utcnow(), reason[:500]
    if not approve:
        request.status = ErasureStatus.DECLINED
        if conversation is not None and notice is not None:
            enqueue(session, conversation, [notice], "system", idempotency_prefix=f"erasure:{request.id}:declined",
                    crypto=crypto)
        request.sender_id = None
        audit(session, user, "privacy.erasure_declined", f"erasure:{request.id}", {"via": request.via})
        return request
    if conversation is not None and blockers(session, conversation.id).held_cases:
        raise ErasureRefused(409, "Ca của người này đang bị giữ theo yêu cầu pháp lý: bỏ giữ trước. / "
                                  "A case of this person is under legal hold: release it first.")
    audit(session, user, "privacy.erasure_approved", f"erasure:{request.id}", {"via": request.via})
    if conversation is None:
        finish(session, request, user=user)
    else:
        start_erasing(session, request, conversation, crypto, notice=notice, user=user)
    return request


def erasing(session: Session) -> list[ErasureRequest]:
    return list(session.scalars(select(ErasureRequest).where(ErasureRequest.status == ErasureStatus.ERASING)
                                .order_by(ErasureRequest.id)))


def request_out(request: ErasureRequest) -> dict[str, Any]:
    return {"id": request.id, "channel": request.channel, "via": request.via, "status": request.status,
            "reason": request.reason, "conversation_id": request.conversation_id,
            "requested_by": request.requested_by, "decided_by": request.decided_by,
            "decision_reason": request.decision_reason, "counts": request.counts or {},
            "created_at": _iso(request.created_at), "decided_at": _iso(request.decided_at),
            "finished_at": _iso(request.finished_at)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
