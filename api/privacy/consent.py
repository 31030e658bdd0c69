"""Consent and legal basis per conversation: when the privacy notice (utter_welcome) was shown,
which purposes apply and on what basis, and the broadcast opt-in as the subscription records it.

Answering questions rests on consent given by using the service after the notice; protecting a
child at risk on vital interest and legal duty (Law on Children 2016): it never waits for consent;
broadcasts on opt-in consent only, recorded when the child subscribes and withdrawn when they stop.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content.models import ContentResponse, Subscriber
from api.content.responses import live_version
from api.db.base import utcnow
from api.messaging.models import Conversation
from api.messaging.texts import WELCOME
from api.privacy.models import LEGAL_BASIS, ConsentRecord, Purpose

ADULT_AGE = 16  # under this, a subscription is explained in plain words


def _record(session: Session, conversation_id: int, purpose: Purpose) -> ConsentRecord:
    found = session.scalar(select(ConsentRecord).where(ConsentRecord.conversation_id == conversation_id,
                                                       ConsentRecord.purpose == purpose))
    if found is None:
        found = ConsentRecord(conversation_id=conversation_id, purpose=purpose, legal_basis=LEGAL_BASIS[purpose])
        session.add(found)
    return found


def record_notice_shown(session: Session, conversation: Conversation) -> None:
    """The privacy notice was shown now: every purpose of this conversation records it."""
    now = utcnow()
    for purpose in Purpose:
        record = _record(session, conversation.id, purpose)
        record.notice_shown_at = now
        record.updated_at = now
    session.flush()


def welcome_texts(session: Session) -> set[str]:
    """Every wording of the privacy notice a child may have been shown (default and live)."""
    texts = {WELCOME.default.strip()}
    response = session.scalar(select(ContentResponse).where(ContentResponse.name == WELCOME.name))
    version = live_version(session, response.id) if response is not None else None
    for variation in (version.variations if version is not None else []):
        if variation.get("text"):
            texts.add(str(variation["text"]).strip())
    return texts


def shows_welcome(session: Session, replies: list[dict[str, Any]]) -> bool:
    said = {str(reply.get("text") or "").strip() for reply in replies} - {""}
    return bool(said) and bool(said & welcome_texts(session))


def sync_broadcast_consent(session: Session, conversation: Conversation) -> bool:
    """Mirror the subscription into the consent record; True when consent was just given."""
    subscriber = session.scalar(select(Subscriber).where(Subscriber.conversation_id == conversation.id))
    if subscriber is None:
        return False
    record = _record(session, conversation.id, Purpose.BROADCASTS)
    now = utcnow()
    if subscriber.subscribed and (record.granted_at is None or record.withdrawn_at is not None):
        record.granted_at, record.withdrawn_at, record.updated_at = now, None, now
        session.flush()
        return True
    if not subscriber.subscribed and record.granted_at is not None and record.withdrawn_at is None:
        record.withdrawn_at = record.updated_at = now
    session.flush()
    return False


def needs_child_explanation(session: Session, conversation: Conversation) -> bool:
    """Age as told when known (the gateway does not ask); unknown counts as a child."""
    record = _record(session, conversation.id, Purpose.BROADCASTS)
    return record.age_told is None or record.age_told < ADULT_AGE


def consent_out(record: ConsentRecord) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {"purpose": record.purpose, "legal_basis": record.legal_basis,
            "notice_shown_at": iso(record.notice_shown_at), "granted_at": iso(record.granted_at),
            "withdrawn_at": iso(record.withdrawn_at), "age_told": record.age_told,
            "updated_at": iso(record.updated_at)}


def consents_of(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    return [consent_out(record) for record in session.scalars(
        select(ConsentRecord).where(ConsentRecord.conversation_id == conversation_id).order_by(ConsentRecord.id))]
