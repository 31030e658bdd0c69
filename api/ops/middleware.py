"""Request ids on every HTTP request (a plain ASGI middleware: it does not buffer streamed responses
such as the consoles' event streams)."""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import REQUEST_ID_HEADER, accepted_request_id, request_id_bound

_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID (when well formed) or makes one, binds it for the request's logs
    and the rows it stores, and returns it in the response's X-Request-ID header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        provided = next((value.decode("latin-1") for key, value in scope.get("headers", [])
                         if key == _HEADER_KEY), None)
        request_id = accepted_request_id(provided)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER_KEY]
                headers.append((_HEADER_KEY, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with request_id_bound(request_id):
            await self.app(scope, receive, send_with_id)
