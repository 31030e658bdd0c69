"""Telegram sender: renders one outbox payload (Rasa buttons as an inline keyboard) and classifies
Bot API errors for the outbox."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from api.channels.telegram.adapter import CHANNEL
from api.channels.telegram.state import callback_data_for
from api.db.gate import WriteGate
from api.messaging.senders import SendResult, normalize_buttons


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
