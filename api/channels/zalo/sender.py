"""Zalo sender: one outbox payload as one (rarely two) consultation messages, with token refresh
and error classification for the outbox."""
from __future__ import annotations

import logging
from typing import Any, Protocol

from api.channels.zalo.adapter import render_reply
from api.channels.zalo.client import ZaloApiResult, ZaloAuthError, ZaloClient
from api.messaging.senders import SendResult

logger = logging.getLogger(__name__)


class TokenProvider(Protocol):
    async def access_token(self) -> str: ...

    async def refresh_rejected(self, rejected_access_token: str) -> str: ...


class ConversationMemory(Protocol):
    """What the sender remembers per Zalo user (implemented over the database by the gateway)."""

    async def is_unsubscribed(self, platform_user_id: str) -> bool: ...

    async def remember_choices(self, platform_user_id: str, choices: dict[str, str]) -> None: ...

    async def choice_hint(self) -> str:
        """The line under a numbered list of choices, as the content console has it now."""
        ...


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
        hint = await self._memory.choice_hint() if payload.get("buttons") else ""
        rendered = render_reply(payload, choice_hint=hint)
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
