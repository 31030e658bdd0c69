"""Erasing one person's data: their conversation and everything hanging from it, the inbox items
under their pseudonymous id, and their cases reduced to anonymised statistics.

A case keeps its level, category, outcome and dates (what the yearly figures count) but loses its
messages, notes and alerts and moves to the channel's tombstone conversation ("<channel>:erased":
no platform id, no messages), so nothing links it to the child any more. A case under legal hold is
never touched, and an open case is erased only by a supervisor's decision.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseStatus
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState, InboundMessage
from api.privacy.models import LegalHold
from api.privacy.rows import cascading_children, table, walk
from api.security.crypto import Crypto

TOMBSTONE_SUFFIX = ":erased"
# Tables with a pseudonymous sender id of their own that are not reached through the conversation
# (the content inbox); these two are handled separately.
_OWN_SENDER_TABLES_SKIPPED = ("conversations", "cases", "privacy_erasure_requests")


@dataclass
class Blockers:
    """Why an erasure needs a supervisor: cases still open, cases under legal hold."""

    open_cases: list[int] = field(default_factory=list)
    held_cases: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.open_cases or self.held_cases)

    def as_dict(self) -> dict[str, list[int]]:
        return {"open_cases": self.open_cases, "held_cases": self.held_cases}


def find_conversation(session: Session, crypto: Crypto, channel: str, user_id: str) -> Conversation | None:
    """The conversation of a platform user id (mapped to its pseudonymous sender id)."""
    sender = crypto.pseudonymous_id(channel, user_id)
    return session.scalar(select(Conversation).where(Conversation.sender_id == sender))


def is_tombstone(conversation: Conversation) -> bool:
    return conversation.sender_id.endswith(TOMBSTONE_SUFFIX)


def held_case_ids(session: Session, conversation_id: int) -> list[int]:
    query = (select(Case.id).join(LegalHold, LegalHold.case_id == Case.id)
             .where(Case.conversation_id == conversation_id).order_by(Case.id))
    return list(session.scalars(query))


def blockers(session: Session, conversation_id: int) -> Blockers:
    open_cases = session.scalars(select(Case.id).where(
        Case.conversation_id == conversation_id, Case.status != CaseStatus.CLOSED).order_by(Case.id))
    return Blockers(list(open_cases), held_case_ids(session, conversation_id))


def tombstone(session: Session, channel: str) -> Conversation:
    """The channel's one conversation that anonymised cases hang from (made on first use)."""
    sender = f"{channel}{TOMBSTONE_SUFFIX}"
    found = session.scalar(select(Conversation).where(Conversation.sender_id == sender))
    if found is None:
        found = Conversation(channel=channel, sender_id=sender, platform_user_id_encrypted="",
                             state=ConversationState.CLOSED)
        session.add(found)
        session.flush()
    return found


def anonymise_cases(session: Session, case_ids: list[int], counts: Counter[str], *, execute: bool) -> None:
    """Keep the cases as statistics only: their dependent rows go, the link to the child goes."""
    if not case_ids:
        return
    cases = table("cases")
    for child, key in cascading_children(cases):
        if child.name != LegalHold.__tablename__:
            walk(session, child, key.parent.in_(case_ids), counts, execute=execute)
    counts["cases_anonymised"] += len(case_ids)
    if not execute:
        return
    now = utcnow()
    for case in session.scalars(select(Case).where(Case.id.in_(case_ids))):
        stone = tombstone(session, case.channel)
        case.conversation_id, case.sender_id = stone.id, stone.sender_id
        if case.status != CaseStatus.CLOSED:  # a supervisor decided to erase an open case
            case.status, case.closed_at, case.outcome = CaseStatus.CLOSED, now, case.outcome or "closed"
    session.flush()


def _own_sender_rows(session: Session, sender_id: str, counts: Counter[str], *, execute: bool) -> None:
    for candidate in table("conversations").metadata.sorted_tables:
        if "sender_id" in candidate.c and candidate.name not in _OWN_SENDER_TABLES_SKIPPED:
            walk(session, candidate, candidate.c.sender_id == sender_id, counts, execute=execute)


def erase_conversation(session: Session, conversation: Conversation, *, execute: bool = True,
                       keep_row: bool = False, keep_inbound_id: int | None = None) -> Counter[str]:
    """Erase (or, without `execute`, count) one person's data; held cases are skipped, the caller
    decides about open ones. `keep_row` keeps the conversation row and the message being answered
    (its text removed) so the last notice can still reach the child; the rest goes now."""
    counts: Counter[str] = Counter()
    held = set(held_case_ids(session, conversation.id))
    if held and not keep_row:
        raise ValueError("a conversation with a case under legal hold is never deleted")
    case_ids = [case_id for case_id in session.scalars(
        select(Case.id).where(Case.conversation_id == conversation.id)) if case_id not in held]
    anonymise_cases(session, case_ids, counts, execute=execute)
    _own_sender_rows(session, conversation.sender_id, counts, execute=execute)
    conversations = table("conversations")
    if not keep_row:
        walk(session, conversations, conversations.c.id == conversation.id, counts, execute=execute)
        return counts
    for child, key in cascading_children(conversations):
        condition = key.parent == conversation.id
        if child.name == "cases" and held:
            condition = and_(condition, child.c.id.not_in(held))
        if child.name == "inbound_messages" and keep_inbound_id is not None:
            condition = and_(condition, child.c.id != keep_inbound_id)
        walk(session, child, condition, counts, execute=execute)
    if execute and keep_inbound_id is not None:
        session.execute(update(InboundMessage).where(InboundMessage.id == keep_inbound_id)
                        .values(text_encrypted=None))
    return counts

