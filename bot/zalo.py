"""Zalo OA consultation messages: rendering bot replies and a small Open API client.

Consultation messages have no buttons, so Rasa buttons become a numbered list and the
numbers the user types back ("1", "số 2") are mapped to the button payloads. Texts longer
than Zalo's limit are split, preferably at paragraph, line or sentence boundaries.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from bot.base import CHANNEL_TEXT_LIMITS, SendResult, normalize_buttons, split_text

logger = logging.getLogger(__name__)

ZALO_TEXT_LIMIT = CHANNEL_TEXT_LIMITS["zalo"]
CHOICE_HINT = "(Bạn nhắn số để chọn nhé.)"


@dataclass(frozen=True)
class Choice:
    number: int
    title: str
    payload: str


@dataclass(frozen=True)
class RenderedReply:
    texts: list[str]
    image_url: str | None
    choices: list[Choice]


def render_reply(payload: dict[str, Any], limit: int = ZALO_TEXT_LIMIT) -> RenderedReply:
    """Turn one outbox payload (text, buttons, image) into Zalo texts plus the numbered choices.

    The outbox already split long texts; the numbered list can push the last part over the
    limit, and then the list goes out as a second message."""
    text = payload.get("text") if isinstance(payload.get("text"), str) else ""
    choices = [
        Choice(number=number, title=button.title, payload=button.payload)
        for number, button in enumerate(normalize_buttons(payload.get("buttons")), start=1)
    ]
    body = (text or "").strip()
    if choices:
        listing = "\n".join(f"{choice.number}. {choice.title}" for choice in choices) + "\n" + CHOICE_HINT
        body = f"{body}\n\n{listing}" if body else listing
    image = payload.get("image")
    image_url = image if isinstance(image, str) and image.startswith("https://") else None
    return RenderedReply(texts=split_text(body, limit) if body else [], image_url=image_url, choices=choices)


_CHOICE_PATTERN = re.compile(r"^(?:(?:so|chon|cau|y|phuong an|lua chon)\s*)?(?:#\s*)?(\d{1,2})\s*[.)!]*$")


def _fold(text: str) -> str:
    """Lowercase and strip Vietnamese diacritics ("số" → "so", "chọn" → "chon")."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def parse_choice(text: str, count: int) -> int | None:
    """The option number a short reply picks ("1", "số 2", "chọn 3."), or None."""
    if count <= 0 or len(text) > 20:
        return None
    match = _CHOICE_PATTERN.match(" ".join(_fold(text).split()))
    if not match:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= count else None


# --- Open API client -------------------------------------------------------------------

# Error codes of the consultation message API (errors arrive as HTTP 200 with error != 0).
RETRYABLE_ERRORS = frozenset({-32, -100})  # rate limit, temporary server error
PERMANENT_ERRORS = frozenset({-213, -217, -227, -230, -232, -234, -244, -224})  # window, permission, package
TOKEN_ERRORS = frozenset({-216, -220})  # access token invalid / expired


@dataclass(frozen=True)
class ZaloApiResult:
    """Outcome of one API call. error 0 = success; transport problems use error None."""

    ok: bool
    error: int | None
    description: str
    http_status: int | None = None
    message_id: str | None = None

    @property
    def retryable(self) -> bool:
        return not self.ok and (self.error is None or self.error in RETRYABLE_ERRORS)

    @property
    def permanent(self) -> bool:
        return self.error in PERMANENT_ERRORS

    @property
    def token_rejected(self) -> bool:
        return self.error in TOKEN_ERRORS


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime


class ZaloAuthError(RuntimeError):
    """The OAuth server refused a refresh or answered with something unusable."""


class ZaloClient:
    """Thin async client for the OA Open API; the httpx client is injected."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_base_url: str,
        oauth_base_url: str,
        app_id: str,
        app_secret: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._http = http
        self._api_base_url = api_base_url.rstrip("/")
        self._oauth_base_url = oauth_base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._timeout = timeout_seconds

    async def send_message(self, access_token: str, user_id: str, message: dict[str, Any]) -> ZaloApiResult:
        """POST /v3.0/oa/message/cs for one consultation message."""
        try:
            response = await self._http.post(
                f"{self._api_base_url}/v3.0/oa/message/cs",
                headers={"access_token": access_token},
                json={"recipient": {"user_id": user_id}, "message": message},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            return ZaloApiResult(ok=False, error=None, description=f"transport: {type(exc).__name__}")
        if response.status_code != 200:
            return ZaloApiResult(
                ok=False, error=None, description=f"http {response.status_code}", http_status=response.status_code
            )
        try:
            body = response.json()
            error = int(body.get("error", -1))
        except (ValueError, TypeError, AttributeError):
            return ZaloApiResult(ok=False, error=None, description="unreadable response", http_status=200)
        if error == 0:
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            message_id = data.get("message_id")
            return ZaloApiResult(
                ok=True, error=0, description="ok", http_status=200,
                message_id=str(message_id) if message_id is not None else None,
            )
        return ZaloApiResult(ok=False, error=error, description=str(body.get("message", ""))[:200], http_status=200)

    async def refresh_tokens(self, refresh_token: str) -> TokenPair:
        """Exchange the single-use refresh token for a new access/refresh pair."""
        try:
            response = await self._http.post(
                f"{self._oauth_base_url}/v4/oa/access_token",
                headers={"secret_key": self._app_secret},
                data={"app_id": self._app_id, "grant_type": "refresh_token", "refresh_token": refresh_token},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ZaloAuthError(f"transport: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise ZaloAuthError(f"http {response.status_code}: unreadable response") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            raise ZaloAuthError(f"http {response.status_code}")
        access_token, new_refresh = body.get("access_token"), body.get("refresh_token")
        if not access_token or not new_refresh:
            raise ZaloAuthError(f"refresh refused: error {body.get('error')}")
        try:
            lifetime = int(body.get("expires_in", 90000))
        except (TypeError, ValueError):
            lifetime = 90000
        expires_at = datetime.now(UTC) + timedelta(seconds=max(lifetime, 60))
        return TokenPair(access_token=str(access_token), refresh_token=str(new_refresh), expires_at=expires_at)


# --- Channel sender ----------------------------------------------------------------------


class TokenProvider(Protocol):
    async def access_token(self) -> str: ...

    async def refresh_rejected(self, rejected_access_token: str) -> str: ...


class ConversationMemory(Protocol):
    """What the sender remembers per Zalo user (implemented over the database by the gateway)."""

    async def is_unsubscribed(self, platform_user_id: str) -> bool: ...

    async def remember_choices(self, platform_user_id: str, choices: dict[str, str]) -> None: ...


# -32 is a per-minute quota: waiting less than a minute mostly hits it again.
RATE_LIMIT_RETRY_SECONDS = 60.0
TOKEN_TROUBLE_RETRY_SECONDS = 300.0


class ZaloSender:
    """ChannelSender for Zalo OA: one outbox payload → one (rarely two) consultation messages."""

    channel = "zalo"

    def __init__(
        self,
        client: ZaloClient,
        tokens: TokenProvider,
        memory: ConversationMemory,
        *,
        rate_limit_retry_seconds: float = RATE_LIMIT_RETRY_SECONDS,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._memory = memory
        self._rate_limit_retry_seconds = rate_limit_retry_seconds

    async def send(self, platform_user_id: str, payload: dict[str, Any]) -> SendResult:
        if await self._memory.is_unsubscribed(platform_user_id):
            return SendResult.failed("zalo: user unfollowed the OA")
        rendered = render_reply(payload)
        messages: list[dict[str, Any]] = []
        if rendered.image_url:
            messages.append(
                {"attachment": {"type": "template", "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": rendered.image_url}],
                }}}
            )
        messages.extend({"text": text} for text in rendered.texts)
        for message in messages:
            result = await self._send_one(platform_user_id, message)
            if isinstance(result, SendResult):
                return result
        if rendered.choices:
            await self._memory.remember_choices(
                platform_user_id, {str(choice.number): choice.payload for choice in rendered.choices}
            )
        return SendResult.sent()

    async def _send_one(self, platform_user_id: str, message: dict[str, Any]) -> ZaloApiResult | SendResult:
        """Send with a valid token: on -216/-220 refresh the token once and retry once."""
        try:
            token = await self._tokens.access_token()
            result = await self._client.send_message(token, platform_user_id, message)
            if result.token_rejected:
                logger.warning("zalo: access token rejected (error %s), refreshing", result.error)
                token = await self._tokens.refresh_rejected(token)
                result = await self._client.send_message(token, platform_user_id, message)
        except ZaloAuthError as exc:
            logger.error("zalo: token refresh failed: %s", exc)
            return SendResult.transient(f"zalo token refresh failed: {exc}", TOKEN_TROUBLE_RETRY_SECONDS)
        if result.ok:
            return result
        error = f"zalo error {result.error}: {result.description}" if result.error is not None else (
            f"zalo {result.description}"
        )
        if result.permanent:
            return SendResult.failed(error)
        if result.token_rejected:
            return SendResult.transient(error + " (after a token refresh)", TOKEN_TROUBLE_RETRY_SECONDS)
        if result.error == -32:
            return SendResult.transient(error, self._rate_limit_retry_seconds)
        # -100, HTTP 5xx, timeouts and codes we do not know: back off and retry (the outbox bounds attempts).
        return SendResult.transient(error)
