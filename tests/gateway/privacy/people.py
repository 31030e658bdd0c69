"""Children's data written straight into the database at a chosen age, for the purge tests."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.auth.models import AuditLog
from api.cases.models import Case, CaseMessage, CaseNote, Notification
from api.content.models import InboxItem, Subscriber
from api.db.base import utcnow
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.privacy.models import ConsentRecord, LegalHold
from api.security.crypto import Crypto

_keys = itertools.count(1)


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def person(session: Session, crypto: Crypto, user_id: str, *, age_days: float, channel: str = "telegram",
           messages: int = 2) -> Conversation:
    """A conversation last active `age_days` ago with its messages, replies, a consent record and an
    inbox item, all that old."""
    at = days_ago(age_days)
    conversation = Conversation(channel=channel, sender_id=crypto.pseudonymous_id(channel, user_id),
                                platform_user_id_encrypted=crypto.encrypt(user_id), last_user_message_at=at,
                                created_at=at)
    session.add(conversation)
    session.flush()
    for number in range(messages):
        key = next(_keys)
        session.add(InboundMessage(channel=channel, platform_message_key=f"m{key}", conversation_id=conversation.id,
                                   kind="text", text_encrypted=crypto.encrypt(f"tin nhắn {number} của {user_id}"),
                                   status="done", received_at=at, message_metadata={}))
        session.add(OutboundMessage(conversation_id=conversation.id, channel=channel, source="bot",
                                    payload_encrypted=crypto.encrypt_json({"text": f"trả lời {number}"}),
                                    status="sent", idempotency_key=f"reply:{key}", created_at=at, sent_at=at))
    session.add(ConsentRecord(conversation_id=conversation.id, purpose="answering_questions",
                              legal_basis="consent_by_use", notice_shown_at=at, updated_at=at))
    session.add(InboxItem(channel=channel, sender_id=conversation.sender_id,
                          text_encrypted=crypto.encrypt("câu hỏi khó"), created_at=at))
    session.flush()
    return conversation


def case_for(session: Session, crypto: Crypto, conversation: Conversation, *, status: str = "closed",
             closed_days_ago: float | None = None, held: bool = False) -> Case:
    """A case of this conversation with a message, a note and a sent alert (and a legal hold)."""
    closed_at = days_ago(closed_days_ago) if closed_days_ago is not None else None
    case = Case(conversation_id=conversation.id, sender_id=conversation.sender_id, channel=conversation.channel,
                status=status, level="high", level_rank=2, category="disclose_physical_abuse",
                outcome="advised" if status == "closed" else None, closed_at=closed_at,
                opened_at=closed_at or utcnow())
    session.add(case)
    session.flush()
    session.add(CaseMessage(case_id=case.id, author="child", text_encrypted=crypto.encrypt("bố đánh em")))
    session.add(CaseNote(case_id=case.id, text_encrypted=crypto.encrypt("ghi chú")))
    session.add(Notification(case_id=case.id, kind="new_case", status="sent", payload={},
                             created_at=closed_at or utcnow()))
    if held:
        session.add(LegalHold(case_id=case.id, reason="công an yêu cầu giữ hồ sơ"))
    session.flush()
    return case


def subscribe(session: Session, conversation: Conversation) -> None:
    session.add(Subscriber(conversation_id=conversation.id, channel=conversation.channel, subscribed=True))
    session.flush()


def audit_entry(session: Session, age_days: float) -> AuditLog:
    entry = AuditLog(action="case.view", target="case:1", details={}, at=days_ago(age_days))
    session.add(entry)
    session.flush()
    return entry
