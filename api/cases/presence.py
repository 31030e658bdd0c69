"""What the child sees of the people behind the chat: a counselor joining, speaking by name, closing,
and whether the conversation waits for one. Every payload here names its author ("author":
{"kind": "bot" | "counselor" | "system", "name": ...}); a channel whose page shows authors (the web
chat) shows it, the others get the counselor's name written before the words.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.models import User
from api.cases.models import Case, CaseStatus
from api.messaging.models import Conversation, ConversationState
from api.messaging.texts import UserText, UserTexts

# Responses of the content system; these are their defaults (the joined one is domain.yml's first
# variation). The joined and closed ones may arrive while the child is away: nothing of the topic and
# no hotline in the first 100 characters (docs/content.md).
COUNSELOR_JOINED = UserText(
    "utter_handoff_joined",
    "Có một người thật vừa vào trò chuyện với bạn rồi. Bạn cứ thoải mái kể nhé, mình nghe đây. "
    "Nếu bị ngắt giữa chừng, bạn vẫn có thể gọi 111 (miễn phí, cả ngày lẫn đêm).",
)
CASE_CLOSED = UserText(
    "utter_handoff_closed",
    "Tư vấn viên đã kết thúc cuộc trò chuyện này. Cảm ơn bạn đã tin tưởng nhắn cho chúng mình. "
    "Bạn vẫn có thể nhắn cho mình bất cứ lúc nào. Cần người giúp, bạn gọi 111: miễn phí, cả ngày lẫn đêm.",
)
# Written before a counselor's words where the channel cannot show who speaks (Telegram, Zalo).
COUNSELOR_LABEL = UserText("utter_counselor_label", "Tư vấn viên {name}")

# Channels whose page renders the payload's author itself (a label, a style); the others get the label
# in the text.
AUTHOR_CHANNELS = frozenset({"web"})
AUTHOR_KINDS = ("bot", "counselor", "system")
# The counselor offer (utter_offer_counselor) is the one response whose buttons answer yes or no
# to talking with a counselor (actions/replies.py adds it last, at concern level only).
OFFER_PAYLOADS = frozenset({"/affirm", "/deny"})


def counselor_name(user: User | None) -> str:
    return (user.display_name or "").strip() if user is not None else ""


def authored(session: Session, texts: UserTexts, channel: str, payload: dict[str, Any], kind: str,
             name: str = "") -> dict[str, Any]:
    """`payload` with its author; a named author's label goes before the text where the channel
    cannot show it otherwise."""
    author: dict[str, Any] = {"kind": kind, **({"name": name} if name else {})}
    result = {**payload, "author": author}
    if name and channel not in AUTHOR_CHANNELS and isinstance(payload.get("text"), str):
        label = texts.text(session, COUNSELOR_LABEL, channel, {"name": name}).strip()
        result["text"] = f"{label}: {payload['text']}"
    return result


def counselor_says(session: Session, texts: UserTexts, channel: str, user: User, text: str) -> dict[str, Any]:
    return authored(session, texts, channel, {"text": text}, "counselor", counselor_name(user))


def notice(session: Session, texts: UserTexts, channel: str, text: UserText, name: str = "") -> dict[str, Any]:
    """A system notice (joined, closed), rendered from the live content, naming the counselor if given."""
    return authored(session, texts, channel, texts.render(session, text, channel), "system", name)


def is_counselor_offer(reply: dict[str, Any]) -> bool:
    buttons = reply.get("buttons")
    if not isinstance(buttons, list):
        return False
    payloads = {button.get("payload") for button in buttons if isinstance(button, dict)}
    return OFFER_PAYLOADS <= payloads


def counselors_told(case: Case | None) -> bool:
    """The case waits for a counselor or has one: asking "do you want a counselor?" would contradict it."""
    return case is not None and case.status in (CaseStatus.WAITING, CaseStatus.ACTIVE)


def conversation_status(session: Session, sender_id: str) -> dict[str, Any]:
    """Who answers this conversation now, for the child's page: "bot", "waiting" (for a counselor) or
    "counselor" (with the counselor's display name)."""
    conversation = session.scalar(select(Conversation).where(Conversation.sender_id == sender_id))
    if conversation is None:
        return {"mode": "bot"}
    if conversation.state == ConversationState.WAITING:
        return {"mode": "waiting"}
    if conversation.state != ConversationState.COUNSELOR:
        return {"mode": "bot"}
    case = session.scalar(select(Case).where(Case.conversation_id == conversation.id,
                                             Case.status == CaseStatus.ACTIVE).order_by(Case.id.desc()).limit(1))
    name = counselor_name(session.get(User, case.assigned_user_id) if case and case.assigned_user_id else None)
    return {"mode": "counselor", **({"counselor": name} if name else {})}
