"""Everything held about one person, decrypted, for an access request (Decree 13/2023/ND-CP)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseMessage, CaseNote
from api.content.models import InboxItem, QuizSession, Subscriber
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.privacy.consent import consents_of
from api.privacy.models import ErasureRequest, LegalHold
from api.privacy.service import request_out
from api.security.crypto import Crypto, CryptoConfigError


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _open(crypto: Crypto, token: str | None) -> str | None:
    if not token:
        return None
    try:
        return crypto.decrypt(token)
    except CryptoConfigError:  # a key rotated out: say so rather than fail the whole export
        return "[không giải mã được / cannot be decrypted]"


def _outbound_text(crypto: Crypto, token: str) -> str | None:
    try:
        payload = crypto.decrypt_json(token)
    except (CryptoConfigError, ValueError):
        return "[không giải mã được / cannot be decrypted]"
    return payload.get("text") if isinstance(payload, dict) else None


def messages_of(session: Session, crypto: Crypto, conversation_id: int) -> list[dict[str, Any]]:
    """The person's messages and the answers they got, oldest first."""
    inbound = [{"direction": "from_person", "kind": row.kind, "text": _open(crypto, row.text_encrypted),
                "at": _iso(row.received_at), "_at": row.received_at}
               for row in session.scalars(select(InboundMessage).where(
                   InboundMessage.conversation_id == conversation_id))]
    outbound = [{"direction": "to_person", "kind": row.source, "text": _outbound_text(crypto, row.payload_encrypted),
                 "status": row.status, "at": _iso(row.created_at), "_at": row.created_at}
                for row in session.scalars(select(OutboundMessage).where(
                    OutboundMessage.conversation_id == conversation_id))]
    merged = sorted(inbound + outbound, key=lambda item: (item["at"] or ""))
    for item in merged:
        item.pop("_at")
    return merged


def _cases(session: Session, crypto: Crypto, conversation_id: int) -> list[dict[str, Any]]:
    held = set(session.scalars(select(LegalHold.case_id)))
    cases = []
    for case in session.scalars(select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id)):
        messages = session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id))
        notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
        cases.append({
            "id": case.id, "status": case.status, "level": case.level, "category": case.category,
            "outcome": case.outcome, "opened_at": _iso(case.opened_at), "closed_at": _iso(case.closed_at),
            "legal_hold": case.id in held,
            "messages": [{"author": m.author, "text": _open(crypto, m.text_encrypted), "at": _iso(m.created_at)}
                         for m in messages],
            "notes": [{"kind": n.kind, "text": _open(crypto, n.text_encrypted), "at": _iso(n.created_at)}
                      for n in notes],
        })
    return cases


def export_conversation(session: Session, crypto: Crypto, conversation: Conversation | None,
                        channel: str) -> dict[str, Any]:
    if conversation is None:
        return {"channel": channel, "found": False, "conversation": None, "messages": [], "cases": [],
                "subscription": None, "quizzes": [], "inbox": [], "consents": [], "erasure_requests": []}
    cid = conversation.id
    subscriber = session.scalar(select(Subscriber).where(Subscriber.conversation_id == cid))
    quizzes = session.scalars(select(QuizSession).where(QuizSession.conversation_id == cid).order_by(QuizSession.id))
    inbox = session.scalars(select(InboxItem).where(InboxItem.sender_id == conversation.sender_id))
    requests = session.scalars(select(ErasureRequest).where(ErasureRequest.conversation_id == cid))
    return {
        "channel": channel, "found": True,
        "conversation": {"pseudonymous_id": conversation.sender_id, "state": conversation.state,
                         "created_at": _iso(conversation.created_at),
                         "last_message_at": _iso(conversation.last_user_message_at)},
        "messages": messages_of(session, crypto, cid),
        "cases": _cases(session, crypto, cid),
        "subscription": None if subscriber is None else {
            "subscribed": subscriber.subscribed, "opted_in_at": _iso(subscriber.opted_in_at),
            "opted_out_at": _iso(subscriber.opted_out_at)},
        "quizzes": [{"quiz_id": q.quiz_id, "question_index": q.question_index, "correct_answers": q.correct_answers,
                     "finished": q.finished, "started_at": _iso(q.started_at)} for q in quizzes],
        "inbox": [{"text": _open(crypto, item.text_encrypted), "status": item.status, "at": _iso(item.created_at)}
                  for item in inbox],
        "consents": consents_of(session, cid),
        "erasure_requests": [request_out(request) for request in requests],
    }
