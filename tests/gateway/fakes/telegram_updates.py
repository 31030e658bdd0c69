"""Builders for Telegram updates as the Bot API sends them, and small async test helpers."""
from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx

TELEGRAM_SECRET = "test-webhook-secret_0123"  # the gateway's webhook secret in the test settings
_update_ids = itertools.count(815_000_001)
_message_ids = itertools.count(42)


def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}


def _message(chat_id: int, **content: Any) -> dict[str, Any]:
    return {"message_id": next(_message_ids), "from": _user(chat_id),
            "chat": {"id": chat_id, "first_name": "Lan", "type": "private"}, "date": int(time.time()), **content}


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict[str, Any]:
    return {"update_id": update_id or next(_update_ids), "message": _message(chat_id, text=text)}


def edited_update(chat_id: int, text: str) -> dict[str, Any]:
    return {"update_id": next(_update_ids),
            "edited_message": _message(chat_id, text=text, edit_date=int(time.time()))}


def sticker_update(chat_id: int) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "message": _message(chat_id, sticker={
        "file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADxx", "type": "regular", "width": 512,
        "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"})}


def photo_update(chat_id: int) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "message": _message(chat_id, photo=[
        {"file_id": "AgACAgIAAxk", "file_unique_id": "AQAD", "width": 90, "height": 90, "file_size": 1200}])}


def voice_update(chat_id: int) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "message": _message(chat_id, voice={
        "file_id": "AwACAgIAAxk", "file_unique_id": "AgADvo", "duration": 3})}


def callback_update(chat_id: int, data: str) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "callback_query": {
        "id": f"cbq{next(_message_ids)}", "from": _user(chat_id), "chat_instance": "-7338125478193441",
        "data": data, "message": {"message_id": next(_message_ids), "chat": {"id": chat_id, "type": "private"},
                                  "date": int(time.time()), "text": "Bạn muốn?"}}}


async def post_update(client: httpx.AsyncClient, update: dict[str, Any] | bytes,
                      secret: str | None = TELEGRAM_SECRET) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await client.post("/webhooks/telegram", content=body, headers=headers)
