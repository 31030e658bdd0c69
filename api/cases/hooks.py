"""Pipeline hooks: the case log and the honest handoff message, in the message's own transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.cases.intake import screen_inbound, screen_marker
from api.cases.models import CaseStatus
from api.cases.presence import counselors_told, is_counselor_offer
from api.cases.presence import notice as system_notice
from api.cases.service import CaseChange, CaseLog, handoff_text, open_case_for
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState, InboundMessage, Lane
from api.messaging.outbox import enqueue
from api.messaging.pipeline import ConversationHooks
from api.messaging.risk import Risk
from api.messaging.texts import UserTexts

_TEXT_KINDS = ("text", "button")
_NON_TEXT_LABELS = {
    "sticker": "[Trẻ gửi một nhãn dán]",
    "photo": "[Trẻ gửi một ảnh — trợ lý không lưu và không xem được ảnh]",
    "voice": "[Trẻ gửi một tin nhắn thoại — trợ lý không lưu và không nghe được]",
    "document": "[Trẻ gửi một tệp — trợ lý không lưu tệp]",
    "other": "[Trẻ gửi một nội dung không phải chữ]",
    "unfollow": "[Trẻ đã bỏ theo dõi kênh: không thể nhắn cho trẻ nữa]",
}


class CaseHooks(ConversationHooks):
    # A failure here must fail the whole turn (it is retried), never drop a disclosure silently.
    critical = True

    def __init__(self, case_log: CaseLog, texts: UserTexts | None = None, context: Any = None) -> None:
        self.case_log = case_log
        self.texts = texts or UserTexts()
        # The app context (its risk lexicon, loaded at start-up) for the screen while Rasa is down.
        self.context = context
        # inbound id → what after_user_message found, so after_bot_turn need not query again.
        self._changes: dict[int, CaseChange | None] = {}

    async def after_user_message(self, session: Session, conversation: Conversation,
                                 inbound: InboundMessage, risk: Any) -> None:
        self._changes.pop(inbound.id, None)
        # Wait for any accept/hand-back on this conversation and read its state afresh, so the
        # pipeline's "may the bot speak?" check below never uses a state a counselor just changed.
        session.flush()
        session.refresh(conversation, with_for_update=True)
        if inbound.kind not in _TEXT_KINDS or not inbound.text_encrypted:
            # The counselor should know the child sent something the bot cannot read (or left).
            placeholder = _NON_TEXT_LABELS.get(inbound.kind)
            case = open_case_for(session, conversation.id) if placeholder else None
            if case is not None and placeholder is not None:
                author = "system" if inbound.kind == "unfollow" else "child"
                self.case_log.add_message(session, case, author, placeholder, inbound_id=inbound.id)
            return
        text = self.case_log.crypto.decrypt(inbound.text_encrypted)
        self._changes[inbound.id] = self.case_log.record_child_message(
            session, conversation, inbound_id=inbound.id, text=text, risk=risk or Risk(),
            screen=screen_marker(inbound))

    def shown_replies(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                      replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Once the counselors are told (this turn, at the webhook or before), the bot does not ask
        "do you want a counselor?": the handoff text says what happens instead."""
        if inbound.id in self._changes:  # a text turn: None means the conversation has no open case
            change = self._changes[inbound.id]
            case = change.case if change is not None else None
        else:
            case = open_case_for(session, conversation.id)
        if not counselors_told(case):
            return replies
        return [reply for reply in replies if not is_counselor_offer(reply)]

    async def rasa_unavailable(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                               text: str) -> None:
        """Rasa is unreachable: the intake screen reads the message again, now with the learned risk
        model beside the rules (both in-process), so a high or imminent disclosure opens its case
        while Rasa is down even if the webhook's rules alone did not act. Its marker keeps the Rasa
        turn from logging or alerting twice once Rasa is back."""
        if self.context is not None and screen_marker(inbound) is None:
            screen_inbound(session, inbound, text, self.context, learned=True)

    async def after_bot_turn(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                             replies: list[dict[str, Any]], risk: Any) -> None:
        if inbound.id in self._changes:
            change = self._changes.pop(inbound.id)
            case = change.case if change is not None else None
        else:  # non-text turns: still log the bot's answer into an open case
            change = None
            case = open_case_for(session, conversation.id)
        if case is None:
            return
        if replies:
            self.case_log.record_bot_replies(session, case, replies)
        # Escalated by this turn, or already at the webhook by the intake screen (and still waiting
        # for a counselor): either way the honest handoff text follows the bot's safe reply (once:
        # the idempotency key guards it).
        marker = screen_marker(inbound)
        escalated_at_intake = marker is not None and bool(marker.get("escalated")) and case.status == CaseStatus.WAITING
        if (change is not None and (change.escalated or escalated_at_intake)
                and conversation.state != ConversationState.COUNSELOR):
            notice = system_notice(session, self.texts, conversation.channel,
                                   handoff_text(session, self.case_log.settings, utcnow()))
            enqueue(session, conversation, [notice], "system",
                    idempotency_prefix=f"handoff:{inbound.id}", crypto=self.case_log.crypto, lane=Lane.SAFETY)
            self.case_log.add_message(session, case, "system", notice["text"])
