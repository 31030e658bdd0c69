"""Counselor actions on a case: accept, reply, note, transfer, hand back, close.

Conversation state: bot → waiting → counselor → closed → bot. The database change is committed
first (so the pipeline stops queuing bot replies at once), then Rasa is paused or resumed.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update

from api.auth.audit import audit
from api.auth.models import CASE_ROLES, User
from api.cases.closing import close_refusal, record_override, unaccepted_urgent
from api.cases.events import EventBroker, publish_after_commit
from api.cases.models import OUTCOMES, Case, CaseNote, CaseStatus
from api.cases.presence import CASE_CLOSED, COUNSELOR_JOINED, counselor_name, counselor_says, notice
from api.cases.service import CASE_EVENT_ROLES, CaseLog, case_summary, queue_notification
from api.db.after_commit import call_after_commit
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import Conversation, ConversationState, Lane, OutboundMessage
from api.messaging.outbox import enqueue
from api.messaging.pipeline import split_rasa_replies
from api.messaging.rasa_client import RasaClient, RasaUnavailable
from api.messaging.texts import UserText, UserTexts

log = logging.getLogger(__name__)

CHECKIN_INTENT = "EXTERNAL_checkin"
# Sent when Rasa cannot give the check-in. It shows on the lock screen: no 111, no risk word, no
# topic (docs/content.md). A response of the content system; this is its default.
CHECKIN = UserText(
    "utter_checkin",
    "Chào bạn, mình ghé hỏi thăm nè 🙂 Hôm nay bạn thấy thế nào? Muốn thì cứ nhắn cho mình nhé.",
)
SUPERVISING_ROLES = ("supervisor", "admin")
RESUME_RETRIES = 30
REPLY_KEY_PREFIX = "case-reply:"
ZALO_WINDOW_DAYS = 7


class CaseActionError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def _lock_conversation_of(session: Any, case_id: int) -> None:
    """Lock the case's conversation row first (PostgreSQL; SQLite writes are serialised anyway).

    The pipeline locks the same row before it decides whether the bot may speak, so a turn in flight
    and an accept or hand-back never interleave, and both take the locks in the same order.
    """
    conversation_id = session.scalar(select(Case.conversation_id).where(Case.id == case_id))
    if conversation_id is not None:
        session.scalar(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update())


def _zalo_window_open(conversation: Conversation) -> bool:
    """Zalo only accepts consultation messages within 7 days of the user's last message."""
    last = conversation.last_user_message_at
    if last is None:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=utcnow().tzinfo)
    return utcnow() - last < timedelta(days=ZALO_WINDOW_DAYS)


def _not_found() -> CaseActionError:
    return CaseActionError(404, "Không tìm thấy ca.")


def _must_hold(case: Case, user: User) -> None:
    if case.status != CaseStatus.ACTIVE:
        raise CaseActionError(409, "Ca này chưa có tư vấn viên nhận.")
    if case.assigned_user_id != user.id and user.role not in SUPERVISING_ROLES:
        raise CaseActionError(403, "Ca này đang do tư vấn viên khác phụ trách.")


def _check_closable(case: Case, user: User, reason: str) -> None:
    """Closed already, held by someone else, or an unaccepted urgent case (api/cases/closing.py)."""
    if case.status == CaseStatus.CLOSED:
        raise CaseActionError(409, "Ca này đã đóng.")
    if case.status == CaseStatus.ACTIVE:
        _must_hold(case, user)
    refusal = close_refusal(case, user, reason)
    if refusal is not None:
        raise CaseActionError(refusal.status_code, refusal.detail)


@dataclass
class HandoffService:
    gate: WriteGate
    rasa: RasaClient
    case_log: CaseLog
    broker: EventBroker
    texts: UserTexts = field(default_factory=UserTexts)
    # Called with the case id after a close is committed and its messages queued (the feedback question).
    closed_hooks: list[Callable[[int], Awaitable[None]]] = field(default_factory=list)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    async def _rasa_call(self, what: str, call: Any, attempts: int = 3) -> Any:
        for attempt in range(attempts):
            try:
                return await call()
            except RasaUnavailable as exc:
                log.warning("rasa %s failed (attempt %d): %s", what, attempt + 1, exc)
                await asyncio.sleep(0.2 * (2 ** attempt))
        return None

    def _wake_notifier(self, session: Any) -> None:
        notifier = getattr(self.case_log, "notifier", None)
        if notifier is not None:
            call_after_commit(session, notifier.wake)

    async def _resume(self, sender: str) -> bool:
        await self.rasa.resume(sender)
        return True

    def _keep_resuming(self, sender: str) -> None:
        async def retry() -> None:
            for attempt in range(RESUME_RETRIES):
                await asyncio.sleep(min(60.0, 2.0 * (attempt + 1)))
                try:
                    await self.rasa.resume(sender)
                    return
                except RasaUnavailable:
                    continue
            log.error("rasa could not be resumed after a hand-back; the conversation stays paused in rasa")

        task = asyncio.get_running_loop().create_task(retry())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _publish(self, session: Any, kind: str, case: Case, **extra: Any) -> None:
        publish_after_commit(session, self.broker, {"type": kind, "case": case_summary(case), **extra},
                             CASE_EVENT_ROLES)

    def _tell_child(self, session: Any, conversation: Conversation, case: Case, payload: dict[str, Any]) -> None:
        """A notice to the child, first in line, and the same words in the case log."""
        if conversation.channel == "zalo" and not _zalo_window_open(conversation):
            return  # Zalo refuses messages 7 days after the child's last one: nothing to queue
        enqueue(session, conversation, [payload], "system", crypto=self.case_log.crypto, lane=Lane.SAFETY)
        self.case_log.add_message(session, case, "system", str(payload.get("text") or ""))

    async def accept(self, case_id: int, user: User) -> Case:
        """Exactly one of several concurrent accepts wins (conditional UPDATE + rowcount)."""
        now = utcnow()
        refused: CaseActionError | None = None
        async with self.gate.transaction() as session:
            _lock_conversation_of(session, case_id)
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Case).where(Case.id == case_id, Case.status.in_(("open", "waiting")))
                .values(status=CaseStatus.ACTIVE, assigned_user_id=user.id, accepted_at=now, updated_at=now)
                .execution_options(synchronize_session=False))
            case = session.get(Case, case_id)
            if result.rowcount != 1 or case is None:
                refused = _not_found() if case is None else CaseActionError(
                    409, "Ca này đã có người nhận hoặc đã đóng.")
                audit(session, user, "case.accept_refused", f"case:{case_id}",
                      {"status": case.status if case else None})
            else:
                session.refresh(case)
                conversation = session.get(Conversation, case.conversation_id)
                assert conversation is not None
                # Same transaction as the case: from this commit on the pipeline queues no bot reply.
                conversation.state = ConversationState.COUNSELOR
                sender = conversation.sender_id
                audit(session, user, "case.accept", f"case:{case.id}", {"level": case.level})
                if case.waiting_since is not None:  # the on-call group knows nobody else needs to pick it up
                    queue_notification(session, case, "accepted", self.case_log.crypto, None)
                    self._wake_notifier(session)
                self.case_log.add_message(session, case, "system",
                                          f"{user.display_name or 'Tư vấn viên'} đã nhận ca.")
                self._tell_child(session, conversation, case,
                                 notice(session, self.texts, conversation.channel, COUNSELOR_JOINED,
                                        counselor_name(user)))
                self._publish(session, "case_accepted", case, by=user.id)
        if refused is not None:
            raise refused  # after the commit, so the refusal stays in the audit log
        assert case is not None
        # Pausing Rasa also stops its predictions; the bot is already silent without it.
        await self._rasa_call("pause", lambda: self.rasa.pause(sender))
        return case

    async def reply(self, case_id: int, user: User, text: str) -> None:
        async with self.gate.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise _not_found()
            _must_hold(case, user)
            conversation = session.get(Conversation, case.conversation_id)
            assert conversation is not None
            if conversation.channel == "zalo" and not _zalo_window_open(conversation):
                raise CaseActionError(409, "Đã quá 7 ngày kể từ tin nhắn cuối của trẻ: Zalo không cho nhắn lại. "
                                           "Hãy ghi chú và chờ trẻ nhắn trước.")
            message = self.case_log.add_message(session, case, "counselor", text, user_id=user.id)
            # The outbox rows carry the case message id, so the console can show whether it arrived.
            payload = counselor_says(session, self.texts, conversation.channel, user, text)
            enqueue(session, conversation, [payload], "counselor", crypto=self.case_log.crypto,
                    idempotency_prefix=f"{REPLY_KEY_PREFIX}{message.id}")
            case.updated_at = utcnow()
            audit(session, user, "case.reply", f"case:{case.id}", {"chars": len(text)})

    async def add_note(self, case_id: int, user: User, text: str, kind: str = "note") -> None:
        async with self.gate.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise _not_found()
            session.add(CaseNote(case_id=case.id, user_id=user.id, kind=kind,
                                 text_encrypted=self.case_log.crypto.encrypt(text), created_at=utcnow()))
            audit(session, user, "case.note", f"case:{case.id}", {"kind": kind})
            self._publish(session, "case_note", case)

    async def transfer(self, case_id: int, user: User, target_id: int) -> Case:
        async with self.gate.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise _not_found()
            _must_hold(case, user)
            target = session.get(User, target_id)
            if target is None or not target.active or target.role not in CASE_ROLES:
                raise CaseActionError(422, "Người nhận phải là tư vấn viên hoặc giám sát đang hoạt động.")
            previous = case.assigned_user_id
            case.assigned_user_id = target.id
            case.updated_at = utcnow()
            audit(session, user, "case.transfer", f"case:{case.id}", {"from": previous, "to": target.id})
            self.case_log.add_message(session, case, "system",
                                      f"Ca được chuyển cho {target.display_name or 'tư vấn viên khác'}.")
            self._publish(session, "case_transferred", case, to=target.id)
        return case

    async def hand_back(self, case_id: int, user: User, note: str, *, closing: str | None = None,
                        reason: str = "") -> Case:
        """Counselor → closed → bot: resume Rasa and send a gentle check-in."""
        async with self.gate.transaction() as session:
            _lock_conversation_of(session, case_id)
            case = session.get(Case, case_id)
            if case is None:
                raise _not_found()
            if closing is None:
                _must_hold(case, user)
            else:  # checked again here: the case may have changed since close() looked
                _check_closable(case, user, reason)
                if unaccepted_urgent(case):
                    record_override(session, case, user, reason, closing, self.case_log.crypto)
            conversation = session.get(Conversation, case.conversation_id)
            assert conversation is not None
            was_held = conversation.state == ConversationState.COUNSELOR
            now = utcnow()
            if note:
                session.add(CaseNote(case_id=case.id, user_id=user.id, kind="close" if closing else "handback",
                                     text_encrypted=self.case_log.crypto.encrypt(note), created_at=now))
            if closing is not None:
                case.status, case.outcome, case.closed_at = "closed", closing, now
            else:
                case.status = CaseStatus.OPEN  # stays this conversation's case: the child's next messages join it
            case.updated_at = now
            if closing is not None and conversation.state in (ConversationState.COUNSELOR, ConversationState.WAITING):
                # Told a counselor was coming or there: the child learns it ended, and where help stays.
                self._tell_child(session, conversation, case,
                                 notice(session, self.texts, conversation.channel, CASE_CLOSED))
            if conversation.state in (ConversationState.COUNSELOR, ConversationState.WAITING):
                conversation.state = ConversationState.CLOSED
            sender = conversation.sender_id
            audit(session, user, "case.close" if closing else "case.handback", f"case:{case.id}",
                  {"outcome": closing} if closing else {})
            self._publish(session, "case_closed" if closing else "case_handed_back", case)
        checkin: Any = None
        if was_held:
            resumed = await self._rasa_call("resume", lambda: self._resume(sender))
            if resumed:
                checkin = await self._rasa_call(
                    "trigger_intent", lambda: self.rasa.trigger_intent(sender, CHECKIN_INTENT), attempts=2)
            else:
                # A still-paused Rasa would leave the child without answers: keep trying in the background.
                self._keep_resuming(sender)
        async with self.gate.transaction() as session:
            conversation = session.get(Conversation, case.conversation_id)
            assert conversation is not None
            if conversation.state == ConversationState.CLOSED:
                conversation.state = ConversationState.BOT
            if was_held:
                _, visible = split_rasa_replies(list((checkin or {}).get("messages") or []))
                texts = visible or [self.texts.render(session, CHECKIN, conversation.channel)]
                enqueue(session, conversation, texts, "bot" if visible else "system",
                        crypto=self.case_log.crypto, lane=Lane.SAFETY)  # the check-in after a case
                fresh = session.get(Case, case.id)
                if fresh is not None:
                    self.case_log.record_bot_replies(session, fresh, texts)
        return case

    async def close(self, case_id: int, user: User, outcome: str, note: str, reason: str = "") -> Case:
        if outcome not in OUTCOMES:
            raise CaseActionError(422, f"outcome phải là một trong {', '.join(OUTCOMES)}")
        refused: CaseActionError | None = None
        async with self.gate.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise _not_found()
            try:
                _check_closable(case, user, reason)
            except CaseActionError as exc:
                refused = exc
                audit(session, user, "case.close_refused", f"case:{case.id}",
                      {"status": case.status, "level": case.level, "code": exc.status_code})
        if refused is not None:
            raise refused  # after the commit, so the refusal stays in the audit log
        case = await self.hand_back(case_id, user, note, closing=outcome, reason=reason)
        for hook in self.closed_hooks:
            try:
                await hook(case.id)
            except Exception:  # the case is closed whatever a follow-up does
                log.exception("after-close hook failed for case %s", case.id)
        return case


def reply_delivery(session: Any, conversation_id: int) -> dict[int, str]:
    """Case message id → "sent" | "failed" | "pending" for the counselor replies of a conversation."""
    rows = session.execute(select(OutboundMessage.idempotency_key, OutboundMessage.status).where(
        OutboundMessage.conversation_id == conversation_id,
        OutboundMessage.idempotency_key.like(f"{REPLY_KEY_PREFIX}%")))
    parts: dict[int, list[str]] = {}
    for key, status in rows:
        message_id = int(key[len(REPLY_KEY_PREFIX):].split(":", 1)[0])
        parts.setdefault(message_id, []).append(status)
    return {message_id: "failed" if "failed" in statuses else "sent" if all(s == "sent" for s in statuses)
            else "pending" for message_id, statuses in parts.items()}


def previous_cases(session: Any, case: Case) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.conversation_id == case.conversation_id,
                                                   Case.id != case.id).order_by(Case.id.desc())))
