"""The chat side of privacy, before Rasa: "xoá dữ liệu của em" asks for confirmation, "đồng ý"
erases; after each turn, the consent record (privacy notice shown, broadcast opt-in).

Only a short message that starts with the request is taken ("xoá dữ liệu của em", "xoa du lieu",
"/delete", "xóa hết tin nhắn của mình"): "bố bắt em xoá hết tin nhắn" is a disclosure and goes
to Rasa as usual (the webhook's intake screen has read it either way).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.after_commit import call_after_commit
from api.messaging.models import Conversation, ConversationState, InboundMessage, OutboundMessage, OutboundStatus
from api.messaging.outbox import enqueue
from api.messaging.pipeline import ConversationHooks
from api.messaging.senders import CHANNEL_TEXT_LIMITS
from api.messaging.texts import UserText, UserTexts
from api.privacy import consent, service, texts
from api.privacy.erasure import blockers
from api.privacy.models import ErasureStatus
from api.security.crypto import Crypto
from vietnlu.text import strip_diacritics

log = logging.getLogger(__name__)

CONFIRM_PAYLOAD = "/erase_confirm"
CANCEL_PAYLOAD = "/erase_cancel"
MAX_REQUEST_WORDS = 12
# Only who asks and how politely may come before "xoá": "bố bắt em xoá…" starts otherwise.
_LEAD = (r"(?:(?:em|minh|toi|to|con|chau|tui|be|muon|can|hay|xin|vui long|cho|giup|ban|lam on|oi|a|ad|admin)"
         r"\s+){0,5}")
_WHAT = r"(?:du lieu|tin nhan|thong tin|lich su|cuoc tro chuyen|cuoc noi chuyen|ho so|data)"
REQUEST_RE = re.compile(
    rf"^{_LEAD}(?:xoa|xoa bo|delete|erase)\s+(?:het\s+|toan bo\s+|tat ca\s+|sach\s+|moi\s+)*"
    rf"(?:cac\s+|nhung\s+)?{_WHAT}\b.*$")
REQUEST_COMMANDS = frozenset({"/delete", "/xoa", "/erase", "/xoadulieu", "/delete_my_data"})
CONFIRM_WORDS = frozenset({"dong y", "dong y xoa", "co", "co xoa", "xoa di", "ok", "oke", "dong i", "yes",
                           CONFIRM_PAYLOAD})
CANCEL_WORDS = frozenset({"khong", "ko", "k", "thoi", "khong xoa", "huy", "no", CANCEL_PAYLOAD})


def folded(text: str) -> str:
    """Lowercase, no diacritics, single spaces, no trailing punctuation or emoji."""
    lowered = strip_diacritics(text).lower().strip()
    lowered = re.sub(r"[^\w/\s]+", " ", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def intent_of(text: str) -> str | None:
    """"request", "confirm", "cancel" or None."""
    words = folded(text)
    if words in REQUEST_COMMANDS or (len(words.split()) <= MAX_REQUEST_WORDS and REQUEST_RE.match(words)):
        return "request"
    if words in CONFIRM_WORDS:
        return "confirm"
    if words in CANCEL_WORDS:
        return "cancel"
    return None


class PrivacyHooks(ConversationHooks):
    def __init__(self, crypto: Crypto, texts_: UserTexts, confirm_minutes: int,
                 wake_finisher: Callable[[], None]) -> None:
        self.crypto = crypto
        self.texts = texts_
        self.confirm_minutes = confirm_minutes
        self.wake_finisher = wake_finisher

    def _say(self, session: Session, conversation: Conversation, text: UserText) -> list[dict[str, Any]]:
        return [self.texts.render(session, text, conversation.channel)]

    async def before_rasa(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                          text: str) -> list[dict[str, Any]] | None:
        intent = intent_of(text)
        if conversation.state == ConversationState.COUNSELOR:
            if intent == "request":  # the counselor reads it; a supervisor decides
                service.request_for_supervisor(session, conversation, blockers(session, conversation.id), via="chat")
            return None
        pending = service.confirmable(session, conversation.id, self.confirm_minutes)
        if pending is not None and intent == "confirm":
            return self._confirm(session, conversation, inbound, pending)
        if pending is not None and intent == "cancel":
            pending.status = ErasureStatus.CANCELLED
            return self._say(session, conversation, texts.ERASE_CANCELLED)
        for stale in service.pending_confirmations(session, conversation.id):
            stale.status = ErasureStatus.CANCELLED  # the child moved on: "đồng ý" later means something else
        if intent == "request":
            return self._request(session, conversation)
        if folded(text) in (CONFIRM_PAYLOAD, CANCEL_PAYLOAD):  # an old button tapped
            return self._say(session, conversation, texts.ERASE_NOTHING_PENDING)
        return None

    def _request(self, session: Session, conversation: Conversation) -> list[dict[str, Any]]:
        found = blockers(session, conversation.id)
        if found:
            service.request_for_supervisor(session, conversation, found, via="chat")
            return self._say(session, conversation, texts.ERASE_SUPERVISOR)
        service.ask_confirmation(session, conversation)
        ask = self.texts.render(session, texts.ERASE_ASK, conversation.channel)
        if not ask.get("buttons"):
            ask["buttons"] = [{"title": "Đồng ý xoá", "payload": CONFIRM_PAYLOAD},
                              {"title": "Không", "payload": CANCEL_PAYLOAD}]
        return [ask]

    def _confirm(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                 request: Any) -> list[dict[str, Any]]:
        found = blockers(session, conversation.id)
        if found:  # a case opened since the question: not silently
            request.status = ErasureStatus.CANCELLED
            service.request_for_supervisor(session, conversation, found, via="chat")
            return self._say(session, conversation, texts.ERASE_SUPERVISOR)
        service.start_erasing(session, request, conversation, self.crypto, keep_inbound_id=inbound.id)
        call_after_commit(session, self.wake_finisher)
        # The pipeline queues this reply; the conversation row goes once it is delivered.
        return self._say(session, conversation, texts.ERASE_DONE)

    async def after_bot_turn(self, session: Session, conversation: Conversation, inbound: InboundMessage,
                             replies: list[dict[str, Any]], risk: Any) -> None:
        if inbound.kind == "follow" or (replies and consent.shows_welcome(session, replies)):
            consent.record_notice_shown(session, conversation)
        if consent.sync_broadcast_consent(session, conversation) and consent.needs_child_explanation(
                session, conversation):
            explanation = self.texts.text(session, texts.BROADCAST_CONSENT_CHILD, conversation.channel)
            if not self._add_to_reply(session, inbound, conversation.channel, explanation):
                enqueue(session, conversation, [{"text": explanation}], "system",
                        idempotency_prefix=f"consent:{inbound.id}", crypto=self.crypto)

    def _add_to_reply(self, session: Session, inbound: InboundMessage, channel: str, extra: str) -> bool:
        """Append to the subscription's own confirmation (still unsent, in this transaction): one
        message reads better than two. False when there is none or it would grow past the limit."""
        row = session.scalar(select(OutboundMessage).where(
            OutboundMessage.idempotency_key.like(f"inbound:{inbound.id}:%"),
            OutboundMessage.status == OutboundStatus.PENDING).order_by(OutboundMessage.id.desc()).limit(1))
        if row is None:
            return False
        payload = self.crypto.decrypt_json(row.payload_encrypted)
        text = payload.get("text") if isinstance(payload, dict) else None
        limit = CHANNEL_TEXT_LIMITS.get(channel)
        if not isinstance(text, str) or (limit is not None and len(text) + len(extra) + 2 > limit):
            return False
        payload["text"] = f"{text}\n\n{extra}"
        row.payload_encrypted = self.crypto.encrypt_json(payload)
        return True
