"""Telegram channel: the PTB Application (outbound through AIORateLimiter), update parsing and
rendering of outbox payloads (Rasa buttons → inline keyboards, callback_data ≤ 64 bytes)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application

from api.messaging.gate import WriteGate
from api.messaging.models import ButtonPayload
from api.settings import Settings
from bot.base import SendResult, normalize_buttons

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_DATA_MAX_BYTES = 64
SHORT_KEY_PREFIX = "k:"
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


def short_key(payload: str) -> str:
    return SHORT_KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


async def callback_data_for(gate: WriteGate, payload: str) -> str:
    """The payload itself when it fits in 64 bytes, else a stored short key."""
    if len(payload.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES and not payload.startswith(SHORT_KEY_PREFIX):
        return payload
    key = short_key(payload)
    async with gate.transaction() as session:
        if session.get(ButtonPayload, key) is None:
            try:
                with session.begin_nested():
                    session.add(ButtonPayload(key=key, payload=payload))
            except IntegrityError:
                pass  # stored concurrently by another send
    return key


def resolve_callback_data(session: Any, data: str) -> str | None:
    """The button payload behind callback_data (None when a short key is unknown)."""
    if not data.startswith(SHORT_KEY_PREFIX):
        return data
    return session.scalar(select(ButtonPayload.payload).where(ButtonPayload.key == data))


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends outbox payloads with the Application's bot; classifies errors for the outbox."""

    channel = CHANNEL

    def __init__(self, application: Application, gate: WriteGate) -> None:  # type: ignore[type-arg]
        self.application = application
        self.gate = gate

    async def _keyboard(self, payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
        buttons = normalize_buttons(payload.get("buttons"))
        if not buttons:
            return None
        rows = [[InlineKeyboardButton(b.title[:64], callback_data=await callback_data_for(self.gate, b.payload))]
                for b in buttons]
        return InlineKeyboardMarkup(rows)

    async def send(self, platform_user_id: str, payload: dict[str, Any]) -> SendResult:
        bot = self.application.bot
        try:
            if payload.get("type") == "answer_callback_query":
                await bot.answer_callback_query(payload["callback_query_id"])
                return SendResult.sent()
            markup = await self._keyboard(payload)
            text = payload.get("text")
            image = payload.get("image")
            if image and not text:
                await bot.send_photo(chat_id=int(platform_user_id), photo=image, reply_markup=markup)
            elif text:
                await bot.send_message(chat_id=int(platform_user_id), text=text, reply_markup=markup)
                if image:
                    await bot.send_photo(chat_id=int(platform_user_id), photo=image)
            else:
                return SendResult.failed("payload has nothing Telegram can show")
        except RetryAfter as exc:
            return SendResult.transient("429 retry after", retry_after=_retry_after_seconds(exc))
        except BadRequest as exc:
            if payload.get("type") == "answer_callback_query":
                # An expired callback query cannot be answered; nothing to retry.
                return SendResult.failed(f"answerCallbackQuery: {exc.message}")
            return SendResult.failed(f"bad request: {exc.message}")
        except (Forbidden, InvalidToken) as exc:
            return SendResult.failed(f"{type(exc).__name__}: {exc.message}")
        except NetworkError as exc:  # 5xx, timeouts, connection errors
            return SendResult.transient(f"{type(exc).__name__}: {exc.message}")
        except TelegramError as exc:
            return SendResult.transient(f"{type(exc).__name__}: {exc.message}")
        return SendResult.sent()


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


class TelegramService:
    """Starts and stops the PTB Application in the app's lifespan and registers the sender."""

    def __init__(self, application: Application, sender: TelegramSender) -> None:  # type: ignore[type-arg]
        self.application = application
        self.sender = sender

    async def start(self) -> TelegramService:
        await self.application.initialize()
        await self.application.start()
        return self

    async def stop(self) -> None:
        await self.application.stop()
        await self.application.shutdown()
