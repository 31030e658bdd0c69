"""The web channel: the sender "delivers" a reply by putting it in the browser's mailbox, and the
page fetches what is new. Replies are encrypted at rest like every other message."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from api.cases.presence import AUTHOR_KINDS, conversation_status
from api.channels.webchat.models import WebChatReply
from api.channels.webchat.wakeups import MailboxWakeups
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import Conversation
from api.messaging.senders import SendResult, normalize_buttons
from api.security.crypto import Crypto

CHANNEL = "web"
# A browser tab lives in sessionStorage; replies nobody fetched within this window are dropped.
MAILBOX_RETENTION = timedelta(hours=24)


def visible_author(payload: dict[str, Any]) -> dict[str, str]:
    """Who speaks: the bot unless the payload names a counselor (with the name) or a system notice."""
    author = payload.get("author")
    if not isinstance(author, dict) or author.get("kind") not in AUTHOR_KINDS:
        return {"kind": "bot"}
    name = author.get("name")
    return {"kind": author["kind"], **({"name": name[:120]} if isinstance(name, str) and name.strip() else {})}


def visible_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Only what the page renders: text, buttons (title + payload), an https image, and its author."""
    result: dict[str, Any] = {}
    if isinstance(payload.get("text"), str) and payload["text"].strip():
        result["text"] = payload["text"]
    buttons = normalize_buttons(payload.get("buttons"))
    if buttons:
        result["buttons"] = [{"title": b.title, "payload": b.payload} for b in buttons]
    image = payload.get("image")
    if isinstance(image, str) and image.startswith("https://"):
        result["image"] = image
    if result:
        result["author"] = visible_author(payload)
    return result


class WebChatMailbox:
    """Reads and writes the mailbox rows of one browser (its client id is the platform user id)."""

    def __init__(self, gate: WriteGate, crypto: Crypto, wakeups: MailboxWakeups | None = None) -> None:
        self._gate = gate
        self._crypto = crypto
        self.wakeups = wakeups or MailboxWakeups()

    def sender_id(self, client_id: str) -> str:
        return self._crypto.pseudonymous_id(CHANNEL, client_id)

    async def put(self, client_id: str, payload: dict[str, Any]) -> bool:
        """Store one reply for this browser; False when the conversation does not exist."""
        visible = visible_payload(payload)
        if not visible:
            return True  # nothing a person could see: nothing to deliver
        async with self._gate.transaction() as session:
            conversation_id = session.scalar(
                select(Conversation.id).where(Conversation.sender_id == self.sender_id(client_id))
            )
            if conversation_id is None:
                return False
            session.add(
                WebChatReply(
                    conversation_id=conversation_id,
                    payload_encrypted=self._crypto.encrypt_json(visible),
                    created_at=utcnow(),
                )
            )
        self.wakeups.notify(self.sender_id(client_id))  # committed: the browser's long poll reads it now
        return True

    def fetch(self, client_id: str, after_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """Replies with an id above `after_id`, oldest first."""
        with self._gate.database.session() as session:
            conversation_id = session.scalar(
                select(Conversation.id).where(Conversation.sender_id == self.sender_id(client_id))
            )
            if conversation_id is None:
                return []
            rows = session.scalars(
                select(WebChatReply)
                .where(WebChatReply.conversation_id == conversation_id, WebChatReply.id > after_id)
                .order_by(WebChatReply.id)
                .limit(limit)
            ).all()
            return [{"id": row.id, "author": {"kind": "bot"}, **self._crypto.decrypt_json(row.payload_encrypted)}
                    for row in rows]

    def status(self, client_id: str) -> dict[str, Any]:
        """Who answers this browser now: the bot, nobody yet (waiting for a counselor), or a counselor."""
        with self._gate.database.session() as session:
            return conversation_status(session, self.sender_id(client_id))

    async def purge_old(self) -> int:
        """Drop replies older than the retention window (children's data: keep the minimum)."""
        async with self._gate.transaction() as session:
            result = session.execute(
                delete(WebChatReply).where(WebChatReply.created_at < utcnow() - MAILBOX_RETENTION)
            )
            return int(getattr(result, "rowcount", 0) or 0)


class WebChatSender:
    """ChannelSender for the web chat."""

    channel = CHANNEL

    def __init__(self, mailbox: WebChatMailbox) -> None:
        self._mailbox = mailbox

    async def send(self, platform_user_id: str, payload: dict[str, Any]) -> SendResult:
        try:
            stored = await self._mailbox.put(platform_user_id, payload)
        except Exception as exc:  # a database hiccup: let the outbox retry
            return SendResult.transient(f"web mailbox: {type(exc).__name__}")
        if not stored:
            return SendResult.failed("web: no conversation for this client")
        return SendResult.sent()
