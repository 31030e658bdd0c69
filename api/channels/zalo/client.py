"""A small client for the Zalo OA Open API (consultation messages, OAuth token refresh)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

logger = logging.getLogger(__name__)

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
