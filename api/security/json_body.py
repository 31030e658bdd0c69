"""The one JSON reader for request bodies: size, nesting depth, characters and integer range.

Every body the gateway reads (webhooks, the web chat, Rasa's /nlg and the JSON API) goes through
`parse_json_body`, so input that would crash a handler further on (a RecursionError on deep nesting,
a lone surrogate or a NUL that the database cannot store, an integer no database column holds) is
refused up front with a 4xx instead of becoming a 500.

    data = parse_json_body(raw)              # raises BadJsonBody(status, message)

API routes get it through `GuardedJsonRoute` (their routers are built with
`APIRouter(route_class=GuardedJsonRoute)`): FastAPI then parses bodies with this reader.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

MAX_JSON_DEPTH = 32
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# C0 control characters other than tab, line feed and carriage return, and DEL. NUL in particular
# cannot be stored in a PostgreSQL text column.
_CONTROL_CHARACTERS = frozenset(chr(code) for code in [*range(0, 9), 11, 12, *range(14, 32), 127])


class BadJsonBody(ValueError):
    """The body cannot be accepted; `status` is the 4xx to answer, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def text_problem(value: str) -> str | None:
    """Why this string cannot be accepted (lone surrogate, control character), or None."""
    if not value.isprintable():  # the character walk only for the rare strings that need it
        for ch in value:
            if ch in _CONTROL_CHARACTERS:
                return "control character in text"
            if "\ud800" <= ch <= "\udfff":
                return "lone surrogate in text"
    return None


def check_json_value(data: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Walk a decoded JSON value without recursion; raise BadJsonBody on the first problem."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise BadJsonBody(422, problem)
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise BadJsonBody(422, "integer out of range")
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise BadJsonBody(422, f"JSON nested deeper than {max_depth} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    stack.append((key, depth))
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


REPLACEMENT_CHARACTER = "\ufffd"


def repaired_text(value: str) -> str:
    """`value` with every lone surrogate and control character replaced by U+FFFD."""
    if text_problem(value) is None:
        return value
    return "".join(REPLACEMENT_CHARACTER if ch in _CONTROL_CHARACTERS or "\ud800" <= ch <= "\udfff" else ch
                   for ch in value)


def _repaired(value: Any, depth: int, max_depth: int) -> Any:
    if isinstance(value, str):
        return repaired_text(value)
    if isinstance(value, dict | list) and depth > max_depth:
        raise BadJsonBody(422, f"JSON nested deeper than {max_depth} levels")
    if isinstance(value, dict):
        return {repaired_text(key): _repaired(item, depth + 1, max_depth) for key, item in value.items()}
    if isinstance(value, list):
        return [_repaired(item, depth + 1, max_depth) for item in value]
    return value


def parse_json_body(raw: bytes, max_depth: int = MAX_JSON_DEPTH, *, repair_text: bool = False) -> Any:
    """Decode a request body as JSON and check it (see the module docstring).

    `repair_text`: a lone surrogate or a control character in a string is replaced by U+FFFD
    instead of refused. The channels use it: a child's message is never turned away for a stray
    character (a platform does not resend a refused update for ever, so it would be lost)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadJsonBody(400, "body must be JSON") from None
    except RecursionError:  # nested far deeper than any limit: the decoder itself gave up
        raise BadJsonBody(422, f"JSON nested deeper than {max_depth} levels") from None
    if repair_text:
        try:
            data = _repaired(data, 1, max_depth)
        except RecursionError:
            raise BadJsonBody(422, f"JSON nested deeper than {max_depth} levels") from None
    check_json_value(data, max_depth)
    return data


class GuardedJsonRequest(Request):
    """A request whose `.json()` is `parse_json_body` (FastAPI calls it for JSON bodies)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = parse_json_body(body)
            except BadJsonBody as error:
                if error.status == 400:
                    # Not JSON at all: decoding again raises the error FastAPI answers with its usual
                    # 422 listing where the body is broken.
                    json.loads(body)
                raise HTTPException(error.status, detail=error.message) from None
        return self._json


class GuardedJsonRoute(APIRoute):
    """An API route whose JSON body is read by `parse_json_body`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            return await handler(GuardedJsonRequest(request.scope, request.receive))

        return guarded
