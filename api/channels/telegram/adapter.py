"""Telegram adapter: the PTB Application (outbound through AIORateLimiter) and updates reduced to
what the gateway stores."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, Application

from api.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The PTB Application without an updater: updates arrive through our webhook route."""
    base = settings.telegram_api_base_url.rstrip("/")
    return (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .updater(None)
        # Our outbox retries 429s itself (max_retries=0): no hidden sleeps inside a send.
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.telegram_overall_max_rate, max_retries=0))
        .build()
    )


@dataclass
class TelegramEvent:
    """One update reduced to what the gateway stores. `platform_user_id` is the private chat id."""

    platform_user_id: str
    kind: str
    text: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    callback_query_id: str | None = None
    callback_data: str | None = None


def _message_kind(message: Any) -> str:
    if message.sticker is not None:
        return "sticker"
    if message.photo:
        return "photo"
    if message.voice is not None or message.audio is not None or message.video_note is not None:
        return "voice"
    if message.document is not None or message.video is not None or message.animation is not None:
        return "document"
    return "other"


def event_from_update(update: Update) -> TelegramEvent | None:
    """What to store for this update, or None for updates the bot ignores (groups, channels...)."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return None
        user_id = str(chat.id if chat is not None else query.from_user.id)
        return TelegramEvent(
            platform_user_id=user_id,
            kind="button",
            text=None,
            metadata={"message_id": f"cb-{query.id}", "update_id": update.update_id},
            callback_query_id=query.id,
            callback_data=query.data or "",
        )
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private":
        return None
    metadata: dict[str, Any] = {"message_id": str(message.message_id), "update_id": update.update_id}
    if update.edited_message is not None:
        metadata["edited"] = True
    user_id = str(message.chat.id)
    text = message.text
    if text is not None:
        if text.strip().split(maxsplit=1)[0].split("@")[0] == "/start" and update.message is not None:
            return TelegramEvent(user_id, "follow", None, metadata)
        return TelegramEvent(user_id, "text", text, metadata)
    kind = _message_kind(message)
    if message.caption:  # a caption is the child's words: let the assistant read them
        metadata["attachment"] = kind
        return TelegramEvent(user_id, "text", message.caption, metadata)
    return TelegramEvent(user_id, kind, None, metadata)
