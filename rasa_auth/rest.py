"""Rasa's REST channel behind the server's token.

Rasa's own REST channel (/webhooks/rest/webhook) answers anyone who can reach the port: every turn
it runs reads and writes a child's conversation. This subclass keeps its name and URL ("rest") and
refuses a request that does not carry RASA_TOKEN, as `Authorization: Bearer <token>` or `?token=`
(the form Rasa's HTTP API takes). RASA_REST_WITHOUT_TOKEN=true lets requests without it through,
for development only; without a token and without that setting every request is refused.
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

TOKEN_ENV = "RASA_TOKEN"  # noqa: S105 (the variable's name)
WITHOUT_TOKEN_ENV = "RASA_REST_WITHOUT_TOKEN"  # noqa: S105 (the variable's name)


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def presented_token(request: Request) -> str:
    """The token a request carries: the Authorization bearer first, then ?token=."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return str(request.args.get("token") or "")


class TokenRestInput(RestInput):
    """RestInput that answers 401 to a request without the server's token."""

    def __init__(self, token: str = "", allow_without_token: bool = False) -> None:
        self.token = token
        self.allow_without_token = allow_without_token

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> TokenRestInput:
        """credentials.yml may name `token` and `allow_without_token`; the environment fills the rest."""
        credentials = credentials or {}
        token = str(credentials.get("token") or os.environ.get(TOKEN_ENV, ""))
        allow = _truthy(credentials.get("allow_without_token")) or _truthy(os.environ.get(WITHOUT_TOKEN_ENV))
        if allow:
            log.warning("the REST channel answers requests without a token (%s): development only",
                        WITHOUT_TOKEN_ENV)
        elif not token:
            log.error("no %s: the REST channel refuses every request", TOKEN_ENV)
        return cls(token=token, allow_without_token=allow)

    def refusal(self, request: Request) -> Optional[HTTPResponse]:
        """None when the request may pass; otherwise the 401 to answer."""
        if self.allow_without_token:
            return None
        presented = presented_token(request)
        if self.token and presented and hmac.compare_digest(presented.encode(), self.token.encode()):
            return None
        return response.json({"error": "unauthorized", "message": "this channel needs the server's token"},
                             status=401, headers={"WWW-Authenticate": "Bearer"})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def require_token(request: Request) -> Optional[HTTPResponse]:
            return self.refusal(request)

        return blueprint
