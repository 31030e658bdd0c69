"""POST /webhooks/telegram: verify the secret, store the update, answer 200, process later."""
from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Update

from api.cases.intake import screen_inbound
from api.channels.base import (
    BodyTooLarge,
    bad_body_response,
    inbound_stored,
    read_json_body,
    webhook_error,
)
from api.channels.telegram.adapter import CHANNEL, event_from_update
from api.channels.telegram.state import resolve_callback_data
from api.context import app_context
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation
from api.messaging.outbox import enqueue
from api.security.json_body import BadJsonBody

log = logging.getLogger(__name__)

router = APIRouter()

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
UNKNOWN_BUTTON_TEXT = "(nút cũ)"


@router.post("/webhooks/telegram", include_in_schema=False)
async def telegram_webhook(request: Request) -> JSONResponse:
    app = request.app
    expected = app_context(app).settings.telegram_webhook_secret.get_secret_value()
    provided = request.headers.get(SECRET_HEADER, "")
    # Checked before reading the body: nothing from an unverified caller is parsed or stored.
    if not expected or not hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8")):
        return webhook_error(403, "forbidden")
    try:
        _, data = await read_json_body(request)
    except (BodyTooLarge, BadJsonBody) as error:
        return bad_body_response(error)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return webhook_error(400, "not a Telegram update (update_id missing)")
    try:
        update = Update.de_json(data, app_context(app).telegram_application.bot)
        event = event_from_update(update)
    except Exception:
        log.info("telegram update %s could not be parsed", data.get("update_id"))
        return webhook_error(400, "malformed Telegram update")
    if event is None:
        return JSONResponse({"ok": True, "ignored": True})

    async with app_context(app).write_gate.transaction(urgent=True) as session:
        text = event.text
        if event.kind == "button":
            text = resolve_callback_data(session, event.callback_data or "") or UNKNOWN_BUTTON_TEXT
        inbound = accept_inbound(
            session,
            channel=CHANNEL,
            platform_user_id=event.platform_user_id,
            platform_message_key=str(update.update_id),
            kind=event.kind,
            text=text,
            metadata=event.metadata,
            crypto=app_context(app).crypto,
        )
        if inbound is not None:
            screen_inbound(session, inbound, text, app_context(app))
        if inbound is not None and event.callback_query_id:
            conversation = session.get(Conversation, inbound.conversation_id)
            assert conversation is not None
            enqueue(session, conversation, [{"type": "answer_callback_query",
                                             "callback_query_id": event.callback_query_id}],
                    "system", idempotency_prefix=f"tg-cbq:{event.callback_query_id}", crypto=app_context(app).crypto)
    if inbound is None:
        return JSONResponse({"ok": True, "duplicate": True})
    inbound_stored(app, CHANNEL)
    return JSONResponse({"ok": True})
