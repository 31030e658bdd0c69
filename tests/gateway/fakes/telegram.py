"""A fake Telegram Bot API: /bot<token>/<method> for getMe, sendMessage, answerCallbackQuery,
setWebhook, deleteWebhook, getWebhookInfo. Records every call; can be told to fail."""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.gateway.fakes.server import FakeService, ServerThread

TELEGRAM_TOKEN = "123456:TEST-TOKEN"


@dataclass
class TelegramCall:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass
class PlannedFailure:
    status: int
    retry_after: int | None = None
    description: str = "Internal Server Error"


class FakeTelegram(FakeService):
    def __init__(self, token: str = TELEGRAM_TOKEN, port: int | None = None) -> None:
        self.token = token
        self.calls: list[TelegramCall] = []
        self._lock = threading.Lock()
        self._failures: list[PlannedFailure] = []
        self._permanent_chats: set[str] = set()
        self._message_ids = itertools.count(1000)
        self.listeners: list[Any] = []  # callables(call) for benchmarks
        app = Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])])
        self._server = ServerThread(app, port)
        self.url = self._server.url

    # -- control ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            self._permanent_chats.clear()
            self.listeners.clear()

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None,
                  description: str | None = None) -> None:
        """The next `times` sendMessage calls answer with this error."""
        text = description or {429: "Too Many Requests: retry after", 400: "Bad Request: chat not found"}.get(
            status, "Internal Server Error")
        with self._lock:
            self._failures.extend(PlannedFailure(status, retry_after, text) for _ in range(times))

    def block_chat(self, chat_id: str) -> None:
        """sendMessage to this chat always answers 403 (the user blocked the bot)."""
        self._permanent_chats.add(str(chat_id))

    def sent(self, chat_id: str | int | None = None) -> list[dict[str, Any]]:
        """Successful sendMessage calls, optionally for one chat, in order."""
        with self._lock:
            return [c.params for c in self.calls if c.method == "sendMessage" and c.status == 200
                    and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def calls_of(self, method: str) -> list[TelegramCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # -- the API ---------------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if "application/json" in content_type:
            body = await request.body()
            return json.loads(body) if body else {}
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        params.update(dict(request.query_params))
        return params

    async def _handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        params = await self._params(request)
        call = TelegramCall(method=method, params=params)
        failure: PlannedFailure | None = None
        with self._lock:
            if method == "sendMessage":
                if str(params.get("chat_id")) in self._permanent_chats:
                    failure = PlannedFailure(403, None, "Forbidden: bot was blocked by the user")
                elif self._failures:
                    failure = self._failures.pop(0)
            call.status = failure.status if failure else 200
            self.calls.append(call)
        for listener in list(self.listeners):
            listener(call)
        if failure is not None:
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return JSONResponse(body, status_code=failure.status)
        return JSONResponse({"ok": True, "result": self._result(method, params)})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Bạn Đồng Hành",
                    "username": "test_child_help_bot", "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "sendMessage":
            chat_id = int(params.get("chat_id", 0))
            return {"message_id": next(self._message_ids), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"}, "text": params.get("text", "")}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True
