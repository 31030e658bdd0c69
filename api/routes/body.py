"""Reading request bodies with a size limit, before anything parses them."""
from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    """The body (declared or actual) exceeds the limit: answer 413."""


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, read in chunks so an oversized upload is refused without buffering it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            pass  # a bogus header: the chunked read below still enforces the limit
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > limit:
            raise BodyTooLarge
    return bytes(received)
