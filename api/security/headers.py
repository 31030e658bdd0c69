"""Security headers on every response: pages, their static files, the API and the webhooks.

    app.add_middleware(SecurityHeadersMiddleware, chat_frame_ancestors="https://campaign.example.org")

- Content-Security-Policy: a route's own policy is kept (the web chat and the counselor console set
  theirs); any other response gets DEFAULT_POLICY. Either way `frame-ancestors` is set: 'none',
  except for the web chat page (/chat), which the sites in `chat_frame_ancestors` may embed.
- X-Frame-Options DENY wherever nothing may frame the response (older browsers ignore
  frame-ancestors), X-Content-Type-Options nosniff and Referrer-Policy no-referrer everywhere.
- Cache-Control no-store on every /api/ answer: they carry transcripts, notes and names, which
  no browser or proxy cache may keep.
- /docs (served only in development) gets a policy that lets FastAPI's Swagger page load.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
# FastAPI's Swagger UI page: its script and styles come from a CDN and it starts with an inline script.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; object-src 'none'")
CHAT_PAGE = "/chat"
DOCS_PAGE = "/docs"


def frame_ancestors_for(path: str, chat_frame_ancestors: str) -> str:
    if path == CHAT_PAGE and chat_frame_ancestors.strip():
        return " ".join(chat_frame_ancestors.split())
    return "'none'"


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (no body buffering, so streamed answers such as /events stay streamed)."""

    def __init__(self, app: ASGIApp, chat_frame_ancestors: str = "") -> None:
        self.app = app
        self.chat_frame_ancestors = chat_frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add_headers(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add_headers(self, headers: MutableHeaders, path: str) -> None:
        ancestors = frame_ancestors_for(path, self.chat_frame_ancestors)
        policy = headers.get("content-security-policy") or (DOCS_POLICY if path == DOCS_PAGE else DEFAULT_POLICY)
        if "frame-ancestors" not in policy:
            policy = f"{policy.rstrip('; ')}; frame-ancestors {ancestors}"
        headers["Content-Security-Policy"] = policy
        if ancestors == "'none'":
            headers["X-Frame-Options"] = "DENY"
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
