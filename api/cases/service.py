"""The case log: every message with risk concern or higher opens or joins the conversation's case.

Everything here runs inside the caller's transaction (the pipeline's, which also marks the inbound
message done), so a case, its messages and its notifications are stored together or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.models import CASE_ROLES, User
from api.cases.events import EventBroker, publish_after_commit
from api.cases.models import Case, CaseMessage, CaseStatus, Notification, NotificationStatus
from api.cases.office_hours import on_duty_now
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState
from api.messaging.risk import Risk, RiskLevel, risk_rank
from api.messaging.texts import UserText
from api.security.crypto import Crypto
from api.settings import Settings

EXCERPT_CHARS = 80
MAX_SIGNALS = 50
CASE_EVENT_ROLES = frozenset(CASE_ROLES)
# Staff who can take a case; presence of any of them (and office hours) decides the handoff text.
RESPONDER_ROLES = ("counselor", "supervisor")

# After the bot's reply has said a counselor was told: whether one is free now ("ngay" only then),
# on duty but busy, or off duty (docs/content.md). Responses of the content system; these are their defaults.
HANDOFF_FREE = UserText(
    "utter_handoff_free",
    "Có tư vấn viên đang rảnh và đã được báo, họ sẽ vào trò chuyện với bạn ngay. "
    "Nếu bạn đang gặp nguy hiểm, đừng chờ: gọi 113 hoặc 111.",
)
HANDOFF_WAITING = UserText(
    "utter_handoff_waiting",
    "Lúc này có tư vấn viên đang trực, họ sẽ vào trò chuyện với bạn sớm nhất có thể. "
    "Nếu bạn đang gặp nguy hiểm, đừng chờ: gọi 113 hoặc 111.",
)
HANDOFF_OFFLINE = UserText(
    "utter_handoff_offline",
    "Mình nói thật nhé: lúc này chưa có tư vấn viên nào trực, nên có thể bạn phải chờ. "
    "Họ sẽ trả lời bạn sớm nhất có thể. Cần người nghe ngay, gọi 111: luôn có người, miễn phí, cả ngày lẫn đêm. "
    "Nếu bạn đang gặp nguy hiểm, gọi 113.",
)


@dataclass
class CaseChange:
    case: Case
    opened: bool = False
    escalated: bool = False  # became "waiting" with this message
    level_raised: bool = False


def open_case_for(session: Session, conversation_id: int) -> Case | None:
    """The conversation's case that is not closed yet (at most one)."""
    return session.scalar(select(Case).where(Case.conversation_id == conversation_id, Case.status != CaseStatus.CLOSED)
                          .order_by(Case.id.desc()).limit(1))


def responders_online(session: Session, settings: Settings, now: datetime) -> int:
    users = session.scalars(select(User).where(User.active.is_(True), User.role.in_(RESPONDER_ROLES),
                                               User.last_seen_at.is_not(None)))
    return sum(1 for user in users if user.is_online(now, settings.counselor_online_seconds))


def responders_free(session: Session, settings: Settings, now: datetime) -> int:
    """Online responders holding fewer active cases than COUNSELOR_MAX_ACTIVE_CASES."""
    users = session.scalars(select(User).where(User.active.is_(True), User.role.in_(RESPONDER_ROLES),
                                               User.last_seen_at.is_not(None)))
    online = [user.id for user in users if user.is_online(now, settings.counselor_online_seconds)]
    if not online:
        return 0
    held: dict[int | None, int] = {user_id: count for user_id, count in session.execute(
        select(Case.assigned_user_id, func.count()).where(Case.status == CaseStatus.ACTIVE,
                                                          Case.assigned_user_id.in_(online))
        .group_by(Case.assigned_user_id))}
    return sum(1 for user_id in online if held.get(user_id, 0) < settings.counselor_max_active_cases)


def handoff_text(session: Session, settings: Settings, now: datetime) -> UserText:
    """Honest: "right away" only when a counselor is on duty, online and not at capacity; on duty
    but all busy, the wait; nobody online or off duty, the wait and 111."""
    if not on_duty_now(session, settings, now):  # the on-call roster, or office hours without one
        return HANDOFF_OFFLINE
    if responders_free(session, settings, now) > 0:
        return HANDOFF_FREE
    if responders_online(session, settings, now) > 0:
        return HANDOFF_WAITING
    return HANDOFF_OFFLINE


def case_summary(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """The queue view of a case: never text, never ids of the child."""
    now = now or utcnow()
    return {
        "id": case.id,
        "level": case.level,
        "category": case.category,
        "status": case.status,
        "channel": case.channel,
        "opened_at": _iso(case.opened_at),
        "waiting_since": _iso(case.waiting_since),
        "waiting_seconds": _seconds_since(case.waiting_since, now) if case.status == CaseStatus.WAITING else 0,
        "assigned_user_id": case.assigned_user_id,
        "counselor_requested": case.counselor_requested,
        "updated_at": _iso(case.updated_at),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


def _seconds_since(value: datetime | None, now: datetime) -> int:
    return max(0, int((now - _aware(value)).total_seconds())) if value is not None else 0


def excerpt(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def queue_notification(session: Session, case: Case, kind: str, crypto: Crypto, text: str | None,
                       target: str = "telegram_group") -> Notification:
    note = Notification(case_id=case.id, kind=kind, target=target, status=NotificationStatus.PENDING,
                        attempts=0,
                        payload={"level": case.level, "category": case.category, "channel": case.channel,
                                 "excerpt_encrypted": crypto.encrypt(excerpt(text)) if text else None},
                        next_attempt_at=utcnow())
    session.add(note)
    return note


class CaseLog:
    """Writes cases from pipeline turns; owns no connection (uses the caller's session)."""

    def __init__(self, settings: Settings, crypto: Crypto, broker: EventBroker | None) -> None:
        self.settings = settings
        self.crypto = crypto
        self.broker = broker

    def add_message(self, session: Session, case: Case, author: str, text: str, *,
                    inbound_id: int | None = None, user_id: int | None = None,
                    risk: Risk | None = None) -> CaseMessage:
        message = CaseMessage(case_id=case.id, author=author, user_id=user_id, inbound_message_id=inbound_id,
                              text_encrypted=self.crypto.encrypt(text),
                              risk_level=risk.level if risk else None,
                              signals=list(risk.signals[:MAX_SIGNALS]) if risk else [], created_at=utcnow())
        session.add(message)
        session.flush()
        publish_after_commit(session, self.broker, {
            "type": "case_message", "case_id": case.id, "message_id": message.id, "author": author,
            "text": text, "risk_level": message.risk_level, "at": _iso(message.created_at),
        }, CASE_EVENT_ROLES)
        return message

    def record_child_message(self, session: Session, conversation: Conversation, *, inbound_id: int,
                             text: str | None, risk: Risk,
                             screen: dict[str, Any] | None = None) -> CaseChange | None:
        """Open/join the case when the risk calls for it; always log into an existing open case.

        Called twice for a message the intake screen acted on (`screen`: its marker on the inbound
        row): at the webhook with the lexicon's reading, then in the Rasa turn with the full one.
        The second call merges the risk but neither logs the message again nor alerts again.
        """
        now = utcnow()
        case = open_case_for(session, conversation.id)
        opened = False
        if case is None:
            if not risk.needs_case:
                return None
            level = risk.level if risk_rank(risk.level) >= RiskLevel.CONCERN.rank else RiskLevel.CONCERN
            case = Case(conversation_id=conversation.id, sender_id=conversation.sender_id,
                        channel=conversation.channel, status=CaseStatus.OPEN, level=level, level_rank=risk_rank(level),
                        category=risk.category, signals=[], opened_at=now, updated_at=now)
            session.add(case)
            session.flush()
            opened = True
        change = CaseChange(case=case, opened=opened)
        # The intake screen logged this message into this very case (and alerted, if it escalated):
        # its marker and the message were written in one savepoint, so the marker alone tells.
        screened = screen if screen is not None and not opened and screen.get("case_id") == case.id else None
        logged = screened is not None
        if risk_rank(risk.level) > case.level_rank:
            change.level_raised = not opened
            case.level = risk.level
            case.level_rank = risk_rank(risk.level)
            if risk.category:
                case.category = risk.category  # the most serious disclosure names the case
        elif (screened is not None and screened.get("named") and risk.category
              and risk_rank(risk.level) == case.level_rank):
            case.category = risk.category  # the full reading of the message that named the case
        if case.category is None and risk.category:
            case.category = risk.category
        if risk.signals:
            merged = list(dict.fromkeys([*case.signals, *risk.signals]))
            case.signals = merged[-MAX_SIGNALS:]
        if risk.counselor_requested:
            case.counselor_requested = True
        case.last_user_message_at = now
        case.updated_at = now
        if text and not logged:
            self.add_message(session, case, "child", text, inbound_id=inbound_id, risk=risk)

        already_escalated = screened is not None and bool(screened.get("escalated"))
        if case.status == CaseStatus.OPEN and risk.needs_counselor and not already_escalated:
            case.status = CaseStatus.WAITING
            case.waiting_since = now
            change.escalated = True
            if conversation.state == ConversationState.BOT:
                conversation.state = ConversationState.WAITING
        excerpt_text = text if self.settings.telegram_alert_excerpt else None  # no excerpt stored unless sent
        if opened or change.escalated:
            kind = "new_case" if case.status == CaseStatus.WAITING else None
            if kind:
                queue_notification(session, case, kind, self.crypto, excerpt_text)
        elif change.level_raised and case.status in (CaseStatus.WAITING, CaseStatus.ACTIVE):
            queue_notification(session, case, "level_up", self.crypto, excerpt_text)
        publish_after_commit(session, self.broker, {
            "type": "case_opened" if opened else "case_updated",
            "escalated": change.escalated, "level_raised": change.level_raised,
            "case": case_summary(case, now),
        }, CASE_EVENT_ROLES)
        return change

    def record_bot_replies(self, session: Session, case: Case, replies: list[dict[str, Any]]) -> None:
        for reply in replies:
            text = reply.get("text")
            if text:
                self.add_message(session, case, "bot", str(text))
