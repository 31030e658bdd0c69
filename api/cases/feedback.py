"""The after-chat question: when a counselor closes a case, the child may say whether it helped.

Asked once per case, never after an imminent case (a child in danger is not asked to rate anything).
The answer is a button payload (on Zalo the channel turns a typed "1"/"2"/"3" into the payload; a
bare digit is also taken while the question is fresh and the numbered list has expired). Only the
answer's code is stored, never what the child typed; the monthly report counts the codes.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.models import Case
from api.cases.ops_models import FEEDBACK_ANSWERS, CaseFeedback
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import Conversation, InboundMessage, Lane
from api.messaging.outbox import enqueue
from api.messaging.pipeline import ConversationHooks
from api.messaging.risk import RiskLevel
from api.messaging.texts import UserText, UserTexts
from api.security.crypto import Crypto
from api.settings import Settings

log = logging.getLogger(__name__)

FEEDBACK_QUESTION = UserText("utter_case_feedback", "Cuộc trò chuyện có giúp được bạn không?")
FEEDBACK_THANKS = UserText(
    "utter_case_feedback_thanks",
    "Cảm ơn bạn đã cho mình biết. Khi nào cần, bạn cứ nhắn cho mình, hoặc gọi 111: miễn phí, cả ngày lẫn đêm.",
)
# Payload → the stored code; the order is the order of the buttons (and of Zalo's numbers).
ANSWERS = {"/feedback_helped": "helped", "/feedback_somewhat": "somewhat", "/feedback_not_helped": "not_helped"}
BUTTON_TITLES = ("Có, giúp được", "Một phần", "Chưa giúp được")
ANSWER_LABELS = {"helped": "Có, giúp được", "somewhat": "Một phần", "not_helped": "Chưa giúp được"}


def answer_counts(session: Session, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    """Questions asked in [start, end) and their answers by code (every code, zero included): the
    figures the monthly report and the content dashboard publish (after suppression)."""
    asked = (CaseFeedback.asked_at >= start, CaseFeedback.asked_at < end)
    rows = session.execute(select(CaseFeedback.answer, func.count()).where(*asked, CaseFeedback.answer.is_not(None))
                           .group_by(CaseFeedback.answer))
    answers = {str(code): int(n) for code, n in rows}
    total = session.scalar(select(func.count()).select_from(CaseFeedback).where(*asked)) or 0
    return int(total), {code: answers.get(code, 0) for code in FEEDBACK_ANSWERS}


def question_payload(session: Session, texts: UserTexts, channel: str) -> dict[str, Any]:
    rendered = texts.render(session, FEEDBACK_QUESTION, channel)
    if not rendered.get("buttons"):
        rendered["buttons"] = [{"title": title, "payload": payload}
                               for title, payload in zip(BUTTON_TITLES, ANSWERS, strict=True)]
    return rendered


def ask_after_close(session: Session, case: Case, texts: UserTexts, crypto: Crypto) -> bool:
    """Queue the question for a case just closed; False when it is not asked (imminent, asked before)."""
    if case.status != "closed" or case.level == RiskLevel.IMMINENT or case.level_rank >= RiskLevel.IMMINENT.rank:
        return False
    if session.scalar(select(CaseFeedback.id).where(CaseFeedback.case_id == case.id)) is not None:
        return False
    conversation = session.get(Conversation, case.conversation_id)
    if conversation is None:
        return False
    session.add(CaseFeedback(case_id=case.id, conversation_id=conversation.id, channel=conversation.channel,
                             asked_at=utcnow()))
    session.flush()  # the unique case id refuses a second question from a concurrent close
    # The safety lane, like the closing words and the check-in before it, so it comes after them.
    enqueue(session, conversation, [question_payload(session, texts, conversation.channel)], "system",
            idempotency_prefix=f"case-feedback:{case.id}", crypto=crypto, lane=Lane.SAFETY)
    return True


def answer_code(text: str, channel: str) -> str | None:
    stripped = text.strip()
    if stripped in ANSWERS:
        return ANSWERS[stripped]
    if channel == "zalo" and stripped in ("1", "2", "3"):
        return list(ANSWERS.values())[int(stripped) - 1]
    return None


class FeedbackHooks(ConversationHooks):
    """Takes the answer before Rasa sees it; any other message goes on to Rasa as usual."""

    def __init__(self, settings: Settings, texts: UserTexts) -> None:
        self.settings = settings
        self.texts = texts

    async def before_rasa(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                          text: str) -> list[dict[str, Any]] | None:
        code = answer_code(text, conversation.channel)
        if code is None:
            return None
        since = utcnow() - timedelta(hours=self.settings.feedback_answer_hours)
        pending = session.scalar(select(CaseFeedback).where(
            CaseFeedback.conversation_id == conversation.id, CaseFeedback.answer.is_(None),
            CaseFeedback.asked_at >= since).order_by(CaseFeedback.id.desc()).limit(1))
        if pending is None:
            return None
        pending.answer, pending.answered_at = code, utcnow()
        return [self.texts.render(session, FEEDBACK_THANKS, conversation.channel)]


class FeedbackOnClose:
    """Called by the handoff service once a close (and its closing messages) is committed."""

    def __init__(self, gate: WriteGate, texts: UserTexts, crypto: Crypto) -> None:
        self.gate = gate
        self.texts = texts
        self.crypto = crypto

    async def __call__(self, case_id: int) -> None:
        async with self.gate.transaction() as session:
            case = session.get(Case, case_id)
            if case is not None and ask_after_close(session, case, self.texts, self.crypto):
                log.info("after-chat question queued", extra={"case_id": case_id})
