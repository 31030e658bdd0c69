"""Signed, expiring bearer tokens (HMAC-SHA256 over a small JSON payload)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

ACCESS = "access"  # a signed-in session; two-factor challenges have purposes of their own


class InvalidToken(Exception):
    """The token is malformed, tampered with or expired."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str, purpose: str) -> str:
    # The purpose is signed: a two-factor challenge token is never accepted as an access token.
    return _b64(hmac.new(secret.encode(), purpose.encode() + b"." + body.encode(), hashlib.sha256).digest())


def issue_token(secret: str, user_id: int, token_version: int, minutes: int, now: float | None = None,
                *, purpose: str = ACCESS) -> str:
    issued = int(now if now is not None else time.time())
    body = _b64(json.dumps({"sub": user_id, "ver": token_version, "iat": issued,
                            "exp": issued + minutes * 60}, separators=(",", ":")).encode())
    return f"{body}.{_sign(secret, body, purpose)}"


def read_token(secret: str, token: str, now: float | None = None, *, purpose: str = ACCESS) -> TokenClaims:
    try:
        body, signature = token.split(".", 1)
    except ValueError as exc:
        raise InvalidToken("malformed") from exc
    if not hmac.compare_digest(signature, _sign(secret, body, purpose)):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_unb64(body))
        claims = TokenClaims(int(payload["sub"]), int(payload["ver"]), int(payload["exp"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed") from exc
    if claims.expires_at <= (now if now is not None else time.time()):
        raise InvalidToken("expired")
    return claims
