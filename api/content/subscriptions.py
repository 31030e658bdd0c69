"""Opt-in and opt-out words, answered before Rasa with a short confirmation."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.content.models import Subscriber
from api.db.base import utcnow
from api.messaging.models import Conversation
from api.messaging.texts import UserText

# Whole messages only, compared with their diacritics: folded "dung" would also be "đúng" (yes).
SUBSCRIBE_WORDS = frozenset({"đăng ký", "đăng kí", "dang ky", "dang ki", "/subscribe", "subscribe",
                             "đăng ký nhận tin", "đăng kí nhận tin", "dang ky nhan tin"})
UNSUBSCRIBE_WORDS = frozenset({"dừng", "dừng lại", "dừng nhận tin", "dung nhan tin", "/stop", "stop",
                               "huỷ đăng ký", "hủy đăng ký", "huỷ đăng kí", "hủy đăng kí", "huy dang ky",
                               "huy dang ki", "/unsubscribe", "unsubscribe"})
# Staff edit both confirmations like any response (their first variation in domain.yml is the same).
SUBSCRIBED = UserText(
    "utter_subscribed",
    'Bạn đã đăng ký nhận tin của chương trình rồi! 🎉 Mình sẽ gửi bạn mẹo giữ an toàn và tin về các hoạt động. '
    'Muốn dừng nhận tin, bạn chỉ cần gõ “dừng”. Cần giúp ngay, gọi 111 (miễn phí).')
UNSUBSCRIBED = UserText(
    "utter_unsubscribed",
    'Mình đã dừng gửi tin của chương trình cho bạn rồi. Bạn vẫn có thể nhắn cho mình bất cứ lúc nào. '
    'Muốn nhận lại, bạn nhắn “đăng ký” nhé. Số 111 luôn mở, miễn phí.')


def normalise_command(text: str) -> str:
    """Lowercase, NFC, single spaces, no trailing punctuation or emoji."""
    lowered = unicodedata.normalize("NFC", text).lower().strip()
    lowered = re.sub(r"\s+", " ", lowered)
    return re.sub(r"[\s!.?,~:;)(\u2600-\u27bf\U0001F000-\U0001FAFF]+$", "", lowered)


def command_of(text: str) -> str | None:
    """"subscribe", "unsubscribe" or None for any other message."""
    command = normalise_command(text)
    if command in SUBSCRIBE_WORDS:
        return "subscribe"
    if command in UNSUBSCRIBE_WORDS:
        return "unsubscribe"
    return None


def set_subscription(session: Session, conversation: Conversation, subscribed: bool) -> Subscriber:
    subscriber = session.scalar(select(Subscriber).where(Subscriber.conversation_id == conversation.id))
    now = utcnow()
    if subscriber is None:
        subscriber = Subscriber(conversation_id=conversation.id, channel=conversation.channel,
                                subscribed=subscribed, opted_in_at=now)
        session.add(subscriber)
    elif subscribed and not subscriber.subscribed:
        subscriber.subscribed = True
        subscriber.opted_in_at = now
        subscriber.opted_out_at = None
    if not subscribed:
        subscriber.subscribed = False
        subscriber.opted_out_at = now
    session.flush()
    return subscriber
