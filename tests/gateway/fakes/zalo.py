"""A fake Zalo Open API: the consultation message endpoint and the OA token refresh.

Behaves like Zalo where the gateway depends on it:
- /v3.0/oa/message/cs wants the `access_token` header to hold the current token (else -216) and
  answers errors as HTTP 200 with error != 0;
- /v4/oa/access_token wants `secret_key` and a form with grant_type=refresh_token; each refresh
  token works once (reuse gives -14020) and every refresh returns a new pair.
Switches: `fail_next(code, times)` queues error codes for the next sends, `http_500_next(times)`,
`expire_access_token()` makes the current token invalid, `refresh_delay_seconds` slows refreshes.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateway.fakes.server import FakeService, ServerThread

APP_SECRET = "test-zalo-app-secret"


@dataclass
class SentMessage:
    access_token: str
    user_id: str
    message: dict[str, Any]
    error: int


@dataclass
class RefreshCall:
    secret_key: str
    form: dict[str, str]
    error: int


@dataclass
class _State:
    access_token: str = "access-0"
    refresh_token: str = "refresh-0"
    generation: int = 0
    sent: list[SentMessage] = field(default_factory=list)
    refreshes: list[RefreshCall] = field(default_factory=list)
    queued_errors: list[int] = field(default_factory=list)
    http_500_remaining: int = 0
    refresh_delay_seconds: float = 0.0
    expires_in: str = "90000"


class FakeZalo(FakeService):
    def __init__(self, app_secret: str = APP_SECRET) -> None:
        self.app_secret = app_secret
        self._lock = threading.Lock()
        self._state = _State()
        app = Starlette(routes=[
            Route("/v3.0/oa/message/cs", self._send, methods=["POST"]),
            Route("/v4/oa/access_token", self._refresh, methods=["POST"]),
        ])
        self._server = ServerThread(app)
        self.url = self._server.url

    # --- switches and inspection ------------------------------------------------------

    def reset(self, access_token: str = "access-0", refresh_token: str = "refresh-0") -> None:
        with self._lock:
            self._state = _State(access_token=access_token, refresh_token=refresh_token)

    def fail_next(self, code: int, times: int = 1) -> None:
        with self._lock:
            self._state.queued_errors.extend([code] * times)

    def http_500_next(self, times: int = 1) -> None:
        with self._lock:
            self._state.http_500_remaining += times

    def expire_access_token(self) -> None:
        """The current access token stops working (the next send gets -216)."""
        with self._lock:
            self._state.access_token = f"expired-{self._state.generation}"

    def set_refresh_delay(self, seconds: float) -> None:
        with self._lock:
            self._state.refresh_delay_seconds = seconds

    @property
    def access_token(self) -> str:
        with self._lock:
            return self._state.access_token

    @property
    def refresh_token(self) -> str:
        with self._lock:
            return self._state.refresh_token

    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._state.sent)

    def delivered_texts(self, user_id: str | None = None) -> list[str]:
        """Texts of successful sends (optionally to one user), in order."""
        with self._lock:
            return [
                str(m.message.get("text", ""))
                for m in self._state.sent
                if m.error == 0 and (user_id is None or m.user_id == user_id)
            ]

    def refreshes(self) -> list[RefreshCall]:
        with self._lock:
            return list(self._state.refreshes)

    # --- endpoints --------------------------------------------------------------------

    async def _send(self, request: Request) -> Response:
        token = request.headers.get("access_token", "")
        try:
            body = await request.json()
            user_id = str(body["recipient"]["user_id"])
            message = dict(body["message"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": -201, "message": "Parameters are invalid"})
        with self._lock:
            state = self._state
            if state.http_500_remaining > 0:
                state.http_500_remaining -= 1
                state.sent.append(SentMessage(token, user_id, message, error=500))
                return Response("internal error", status_code=500)
            if token != state.access_token:
                error = -216
            elif state.queued_errors:
                error = state.queued_errors.pop(0)
            else:
                error = 0
            state.sent.append(SentMessage(token, user_id, message, error=error))
            count = len(state.sent)
        if error:
            return JSONResponse({"error": error, "message": f"fake error {error}"})
        return JSONResponse({"data": {"message_id": f"fake-msg-{count}", "user_id": user_id},
                             "error": 0, "message": "Success"})

    async def _refresh(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        secret = request.headers.get("secret_key", "")
        with self._lock:
            delay = self._state.refresh_delay_seconds
        if delay:
            await asyncio.sleep(delay)  # the fake's behaviour: a slow token refresh (races between replicas)
        with self._lock:
            state = self._state
            if secret != self.app_secret:
                error = -14014
            elif form.get("grant_type") != "refresh_token":
                error = -14003
            elif form.get("refresh_token") != state.refresh_token:
                error = -14020  # used before, or never issued
            else:
                error = 0
            state.refreshes.append(RefreshCall(secret, form, error))
            if error:
                return JSONResponse({"error": error, "error_name": "Invalid refresh token",
                                     "error_description": "fake"})
            state.generation += 1
            state.access_token = f"access-{state.generation}"
            state.refresh_token = f"refresh-{state.generation}"
            return JSONResponse({"access_token": state.access_token, "refresh_token": state.refresh_token,
                                 "expires_in": state.expires_in})
