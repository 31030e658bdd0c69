"""The content concerns in the message pipeline: subscription words and quizzes before Rasa,
the inbox and daily figures after each message, and local help after the bot's answer."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content import directory, inbox, quizzes
from api.content.models import MessageStat
from api.content.quizzes import QuizVoice
from api.content.subscriptions import SUBSCRIBED, UNSUBSCRIBED, command_of, set_subscription
from api.db.base import utcnow
from api.messaging.models import Conversation, ConversationState, InboundMessage
from api.messaging.outbox import enqueue
from api.messaging.pipeline import ConversationHooks
from api.messaging.risk import RiskLevel
from api.messaging.texts import UserTexts
from api.security.crypto import Crypto


class ContentHooks(ConversationHooks):
    def __init__(self, crypto: Crypto, timezone: str = "Asia/Ho_Chi_Minh", texts: UserTexts | None = None) -> None:
        self.crypto = crypto
        self.zone = ZoneInfo(timezone)
        self.texts = texts or UserTexts()

    async def before_rasa(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                          text: str) -> list[dict[str, Any]] | None:
        if conversation.state != ConversationState.BOT:
            return None  # a counselor (or the wait for one) comes first
        # A running quiz sees the message first, so "dừng" stops the quiz, not the subscription.
        voice = QuizVoice(session, self.texts, conversation.channel)
        replies = quizzes.answer(voice, conversation, text)
        if replies is not None:
            return replies
        command = command_of(text)
        if command is not None:
            subscribed = command == "subscribe"
            set_subscription(session, conversation, subscribed)
            confirmation = SUBSCRIBED if subscribed else UNSUBSCRIBED
            return [self.texts.render(session, confirmation, conversation.channel)]
        return quizzes.start_requested(voice, conversation, text)

    async def after_user_message(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                                 risk: Any) -> None:
        if risk is None:
            return
        inbox.record(session, conversation, inbound, risk)
        self._count(session, conversation.channel, risk)

    def _count(self, session: Session, channel: str, risk: Any) -> None:
        day = utcnow().astimezone(self.zone).date().isoformat()
        topic = (getattr(risk, "intent", None) or "")[:120]
        level = RiskLevel.of(getattr(risk, "level", None))
        stat = session.scalar(select(MessageStat).where(MessageStat.day == day, MessageStat.channel == channel,
                                                        MessageStat.topic == topic, MessageStat.risk_level == level)
                              .with_for_update())
        if stat is None:
            stat = MessageStat(day=day, channel=channel, topic=topic, risk_level=level, messages=0, fallbacks=0)
            session.add(stat)
        stat.messages += 1
        stat.fallbacks += 1 if inbox.needs_review(risk) else 0
        session.flush()

    async def after_bot_turn(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                             replies: list[dict[str, Any]], risk: Any) -> None:
        """"Ở Tam Kỳ có chỗ nào giúp em không": after the bot's own answer, the local help list."""
        if risk is None or not replies or not inbound.text_encrypted:
            return
        text = self.crypto.decrypt(inbound.text_encrypted)
        entries = directory.local_help(session, text)
        if entries:
            channel = conversation.channel
            reply = directory.help_reply(entries, self.texts.text(session, directory.HELP_LIST_INTRO, channel),
                                         self.texts.text(session, directory.HELP_LIST_OUTRO, channel))
            enqueue(session, conversation, [reply], "bot",
                    idempotency_prefix=f"directory:{inbound.id}", crypto=self.crypto)
