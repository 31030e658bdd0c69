"""POST /webhooks/zalo: verify the signature over the raw body, store the event, answer 200.

Order matters: size limit → signature header present → JSON → signature over the raw bytes →
parse → store. Nothing is stored unless the signature matches. Zalo retries non-200 answers,
so an event is acknowledged once its row is committed (dedupe on msg_id makes retries harmless).
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cases.intake import screen_inbound
from api.channels.base import BodyTooLarge, inbound_stored, read_limited_body, webhook_error
from api.channels.zalo.events import (
    MalformedEvent,
    ZaloEvent,
    decode_body,
    parse_event,
    signature_is_valid,
    signing_fields,
)
from api.channels.zalo.state import CHANNEL, mark_followed, mark_unfollowed, take_choice
from api.context import AppContext, app_context
from api.db.gate import WriteGate
from api.messaging.inbound import accept_inbound, get_or_create_conversation
from api.messaging.models import InboundMessage
from api.security.crypto import Crypto
from api.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()

SIGNATURE_HEADER = "X-ZEvent-Signature"
# Zalo event → inbound kind the pipeline understands.
INBOUND_KIND = {"text": "text", "image": "photo", "sticker": "sticker", "link": "other",
                "follow": "follow", "unfollow": "unfollow"}


class _AlreadyStored(Exception):
    """A concurrent delivery of the same event won: roll back whatever this one changed."""


@router.post("/webhooks/zalo", include_in_schema=False)
async def zalo_webhook(request: Request) -> JSONResponse:
    settings: Settings = app_context(request.app).settings
    if not settings.zalo_enabled:
        return webhook_error(404, "zalo channel is off")
    try:
        raw_body = await read_limited_body(request)
    except BodyTooLarge as exc:
        return exc.response()
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return webhook_error(403, "missing signature")
    try:
        data = decode_body(raw_body)
    except MalformedEvent as exc:
        return webhook_error(400, f"body must be a JSON object: {exc}")
    app_id, timestamp = signing_fields(data)
    if app_id != settings.zalo_app_id or not signature_is_valid(
        signature,
        app_id=app_id,
        raw_body=raw_body,
        timestamp=timestamp,
        oa_secret_key=settings.zalo_oa_secret_key.get_secret_value(),
    ):
        log.warning("zalo webhook: signature mismatch, event rejected")
        return webhook_error(403, "bad signature")
    try:
        event = parse_event(data)
    except MalformedEvent as exc:
        return webhook_error(400, f"malformed event: {exc}")
    if event.kind == "ignored":
        return JSONResponse({"ok": True, "ignored": event.event_name})

    gate: WriteGate = app_context(request.app).write_gate
    crypto: Crypto = app_context(request.app).crypto
    try:
        async with gate.transaction(urgent=True) as session:
            stored = _store_event(session, event, crypto, app_context(request.app))
    except _AlreadyStored:
        stored = False
    if stored:
        inbound_stored(request.app, CHANNEL)
    return JSONResponse({"ok": True, "duplicate": not stored})


def _storage_key(event: ZaloEvent, crypto: Crypto) -> str:
    """The dedupe key stored with the message. Follow events have no message id, and their natural
    key holds the raw user id, which is never stored in clear: use the pseudonymous id instead."""
    if event.kind in ("follow", "unfollow"):
        assert event.user_id is not None
        pseudonym = crypto.pseudonymous_id(CHANNEL, event.user_id).split(":", 1)[1]
        return f"{event.event_name}:{pseudonym}:{event.timestamp}"
    assert event.dedupe_key is not None
    return f"msg:{event.dedupe_key}"


def _store_event(session: Session, event: ZaloEvent, crypto: Crypto, context: AppContext) -> bool:
    """Store one verified event; False when it was stored before. The app context lets the intake
    screen read a stored text at once."""
    assert event.user_id is not None
    key = _storage_key(event, crypto)
    already = session.scalar(
        select(InboundMessage.id).where(InboundMessage.channel == CHANNEL, InboundMessage.platform_message_key == key)
    )
    if already is not None:
        return False
    conversation = get_or_create_conversation(session, channel=CHANNEL, platform_user_id=event.user_id, crypto=crypto)
    kind = INBOUND_KIND[event.kind]
    text = event.text
    metadata: dict[str, Any] = {"event": event.event_name}
    if event.dedupe_key and event.kind not in ("follow", "unfollow"):
        metadata["message_id"] = event.dedupe_key
    if event.attachment_types:
        metadata["attachments"] = list(event.attachment_types)
    if event.kind == "text" and text is not None:
        picked = take_choice(session, conversation.id, text)
        if picked is not None:
            number, payload = picked
            kind, text = "button", payload
            metadata["choice"] = number
    elif event.kind == "follow":
        mark_followed(session, conversation.id)
    elif event.kind == "unfollow":
        mark_unfollowed(session, conversation.id)
    inbound = accept_inbound(
        session,
        channel=CHANNEL,
        platform_user_id=event.user_id,
        platform_message_key=key,
        kind=kind,
        text=text,
        metadata=metadata,
        crypto=crypto,
    )
    if inbound is None:
        raise _AlreadyStored
    screen_inbound(session, inbound, text, context)
    return True
