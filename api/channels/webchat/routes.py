"""The web chat: the page at GET /chat, and its HTTP API.

POST /webchat/messages stores the browser's message like any channel's (channel "web"; the random
client id the page keeps in sessionStorage is the platform user id). GET /webchat/messages returns
the replies delivered to that browser after a given id, waiting up to `wait` seconds for one, each
with its author ({"kind": "bot" | "counselor" | "system", "name"}), and who answers now ("status":
{"mode": "bot" | "waiting" | "counselor", "counselor": name}).
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.cases.intake import screen_inbound
from api.channels.base import (
    BODY_TOO_LARGE,
    BodyTooLarge,
    bad_body_response,
    inbound_stored,
    read_json_body,
    webhook_error,
)
from api.channels.webchat.mailbox import CHANNEL, WebChatMailbox
from api.channels.webchat.wakeups import SAFETY_POLL_SECONDS
from api.context import app_context
from api.db.gate import WriteGate
from api.messaging.inbound import MAX_INBOUND_TEXT_CHARS, accept_inbound
from api.security.crypto import Crypto
from api.security.json_body import INT64_MAX, BadJsonBody
from api.ui import CSS, JAVASCRIPT, ui_router

log = logging.getLogger(__name__)

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parent / "static"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
# Every channel's limit (Telegram's own): a longer web chat message is refused with TEXT_TOO_LONG, never cut.
MAX_TEXT_CHARS = MAX_INBOUND_TEXT_CHARS
MAX_PAYLOAD_CHARS = 300
# Room for MAX_TEXT_CHARS written as \uXXXX escapes (6 bytes each) and the other fields.
MAX_BODY_BYTES = 32 * 1024
TEXT_TOO_LONG = (f"Tin nhắn dài quá (tối đa {MAX_TEXT_CHARS} ký tự). Bạn chia thành vài tin ngắn hơn rồi gửi "
                 "lại nhé. Nếu cần giúp ngay, gọi 111.")
MAX_WAIT_SECONDS = 25.0
# Per browser: a burst of messages is fine, a flood is not.
RATE_BURST = 10
RATE_PER_SECOND = 0.5

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'"
    ),
}


class WebChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(pattern=CLIENT_ID_PATTERN)
    text: str = Field(min_length=1)
    # Set when the user tapped a quick reply: what goes to the assistant (text is what was shown).
    payload: str | None = Field(default=None, min_length=1, max_length=MAX_PAYLOAD_CHARS)
    # Random per message from the page, so a retried POST is stored once.
    message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")

    @field_validator("text")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            raise ValueError("text contains control characters")
        return value

    @property
    def too_long(self) -> bool:
        return len(self.text) > MAX_TEXT_CHARS


class RateLimiter:
    """Messages per browser (keyed by its pseudonymous id) in a moving window, counted in the
    `limits` storage: this process's memory, or Redis (RATE_LIMIT_STORAGE_URL) so every gateway
    replica counts the same browser together."""

    def __init__(self, storage_uri: str = "async+memory://") -> None:
        options = {"implementation": "redispy"} if storage_uri.startswith("async+redis") else {}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        # A burst of RATE_BURST, then one every 1/RATE_PER_SECOND seconds on average.
        self._item = RateLimitItemPerSecond(RATE_BURST, int(RATE_BURST / RATE_PER_SECOND))

    async def allow(self, key: str) -> bool:
        return await self._limiter.hit(self._item, "webchat-messages", key)


def _mailbox(request: Request) -> WebChatMailbox:
    context = app_context(request.app)
    mailbox = getattr(context, "webchat_mailbox", None)
    if mailbox is None:
        mailbox = WebChatMailbox(context.write_gate, context.crypto)
        context.webchat_mailbox = mailbox
    return mailbox


def _limiter(request: Request) -> RateLimiter:
    context = app_context(request.app)
    limiter = getattr(context, "webchat_rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(context.settings.limits_storage_uri)
        context.webchat_rate_limiter = limiter
    return limiter


# The page at /chat and its two assets (static/).
router.include_router(ui_router("/chat", STATIC_DIR, assets_path="/chat",
                                assets={"webchat.js": JAVASCRIPT, "webchat.css": CSS},
                                page_headers=PAGE_HEADERS, asset_headers={"Cache-Control": "no-cache"}))


@router.post("/webchat/messages", include_in_schema=False)
async def post_message(request: Request) -> JSONResponse:
    try:
        _, data = await read_json_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return JSONResponse({"ok": False, "error": BODY_TOO_LARGE, "message": TEXT_TOO_LONG}, status_code=413)
    except BadJsonBody as error:
        return bad_body_response(error)
    try:
        message = WebChatMessageIn.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) or "body" for err in exc.errors()})
        return webhook_error(422, "invalid fields: " + ", ".join(fields))
    if message.too_long:
        return JSONResponse({"ok": False, "error": "text too long", "message": TEXT_TOO_LONG}, status_code=422)
    if not await _limiter(request).allow(_mailbox(request).sender_id(message.client_id)):
        response = webhook_error(429, "too many messages")
        response.headers["Retry-After"] = "5"
        return response

    gate: WriteGate = app_context(request.app).write_gate
    crypto: Crypto = app_context(request.app).crypto
    message_id = message.message_id or uuid.uuid4().hex
    async with gate.transaction(urgent=True) as session:
        inbound = accept_inbound(
            session,
            channel=CHANNEL,
            platform_user_id=message.client_id,
            platform_message_key=f"{crypto.pseudonymous_id(CHANNEL, message.client_id)}:{message_id}",
            kind="button" if message.payload else "text",
            text=message.payload or message.text,
            metadata={"message_id": message_id},
            crypto=crypto,
        )
        if inbound is not None:
            screen_inbound(session, inbound, message.payload or message.text, app_context(request.app))
    if inbound is not None:
        inbound_stored(request.app, CHANNEL)
    return JSONResponse({"ok": True, "message_id": message_id, "duplicate": inbound is None}, status_code=202)


@router.get("/webchat/messages", include_in_schema=False)
async def get_messages(
    request: Request,
    client_id: Annotated[str, Query(pattern=CLIENT_ID_PATTERN)],
    after: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
) -> JSONResponse:
    mailbox = _mailbox(request)
    key = mailbox.sender_id(client_id)
    deadline = time.monotonic() + wait
    while True:
        messages = await asyncio.to_thread(mailbox.fetch, client_id, after)
        remaining = deadline - time.monotonic()
        if messages or remaining <= 0 or await request.is_disconnected():
            break
        # Woken when a reply for this conversation is stored (here or in another gateway process);
        # the safety poll covers a lost wake-up.
        await mailbox.wakeups.wait(key, min(remaining, SAFETY_POLL_SECONDS))
    last_id = messages[-1]["id"] if messages else after
    status = await asyncio.to_thread(mailbox.status, client_id)
    return JSONResponse({"messages": messages, "last_id": last_id, "status": status},
                        headers={"Cache-Control": "no-store"})
