"""Zalo OA webhook: signature check and event parsing (pure functions, no I/O).

Zalo signs every webhook with ``X-ZEvent-Signature: mac=<hex>`` where hex is the plain
SHA-256 of ``app_id + raw body + timestamp + OA secret key``. The app id and timestamp come
from the body itself, so the body is decoded first, but nothing is stored before the check.
IDs and timestamps exceed 2^53, so they are kept as strings throughout.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal

from api.security.json_body import BadJsonBody, parse_json_body

EventKind = Literal["text", "image", "sticker", "link", "follow", "unfollow", "ignored"]

# Events the gateway acts on; everything else (oa_send_* echoes, user_received_message,
# user_seen_message, new event types) is acknowledged and ignored.
USER_MESSAGE_EVENTS: dict[str, EventKind] = {
    "user_send_text": "text",
    "user_send_image": "image",
    "user_send_sticker": "sticker",
    "user_send_link": "link",
}
FOLLOWER_EVENTS: dict[str, EventKind] = {"follow": "follow", "unfollow": "unfollow"}


class MalformedEvent(ValueError):
    """The body is not a JSON object or lacks the fields its event type needs."""


@dataclass(frozen=True)
class ZaloEvent:
    kind: EventKind
    event_name: str
    app_id: str
    timestamp: str
    user_id: str | None = None  # the user's id for this OA (sender.id / follower.id)
    dedupe_key: str | None = None
    text: str | None = None
    attachment_types: tuple[str, ...] = ()
    quote_msg_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def decode_body(raw_body: bytes) -> dict[str, Any]:
    """Decode the webhook body into a JSON object or raise MalformedEvent."""
    try:
        data = parse_json_body(raw_body, repair_text=True)  # a stray character never loses a message
    except BadJsonBody as exc:  # not JSON, nested too deeply, a lone surrogate...: a 400 like any bad body
        raise MalformedEvent(exc.message) from exc
    if not isinstance(data, dict):
        raise MalformedEvent("body is not a JSON object")
    return data


def _as_id(value: Any) -> str | None:
    """Zalo ids are strings; accept numbers defensively but never go through float."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text or None
    return None


def expected_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(oa_secret_key.encode("utf-8"))
    return "mac=" + digest.hexdigest()


def signature_is_valid(
    header: str | None, *, app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str
) -> bool:
    """Constant-time comparison of the header with the signature we compute."""
    if not header or not oa_secret_key or not app_id or not timestamp:
        return False
    expected = expected_signature(app_id, raw_body, timestamp, oa_secret_key)
    return hmac.compare_digest(header.strip().lower().encode("utf-8"), expected.encode("utf-8"))


def signing_fields(data: dict[str, Any]) -> tuple[str, str]:
    """The (app_id, timestamp) pair the signature covers, as strings ('' when absent)."""
    return _as_id(data.get("app_id")) or "", _as_id(data.get("timestamp")) or ""


def parse_event(data: dict[str, Any]) -> ZaloEvent:
    """Turn a verified webhook body into a ZaloEvent."""
    event_name = data.get("event_name")
    if not isinstance(event_name, str) or not event_name:
        raise MalformedEvent("event_name missing")
    app_id, timestamp = signing_fields(data)

    if event_name in USER_MESSAGE_EVENTS:
        return _parse_user_message(data, event_name, app_id, timestamp)
    if event_name in FOLLOWER_EVENTS:
        follower = data.get("follower")
        user_id = _as_id(follower.get("id")) if isinstance(follower, dict) else None
        if not user_id:
            raise MalformedEvent("follower.id missing")
        return ZaloEvent(
            kind=FOLLOWER_EVENTS[event_name],
            event_name=event_name,
            app_id=app_id,
            timestamp=timestamp,
            user_id=user_id,
            dedupe_key=f"{event_name}:{user_id}:{timestamp}",
        )
    return ZaloEvent(kind="ignored", event_name=event_name, app_id=app_id, timestamp=timestamp)


def _parse_user_message(data: dict[str, Any], event_name: str, app_id: str, timestamp: str) -> ZaloEvent:
    sender = data.get("sender")
    message = data.get("message")
    user_id = _as_id(sender.get("id")) if isinstance(sender, dict) else None
    if not user_id:
        raise MalformedEvent("sender.id missing")
    if not isinstance(message, dict):
        raise MalformedEvent("message missing")
    msg_id = _as_id(message.get("msg_id"))
    if not msg_id:
        raise MalformedEvent("message.msg_id missing")
    text = message.get("text")
    text = text if isinstance(text, str) and text.strip() else None
    kind = USER_MESSAGE_EVENTS[event_name]
    if kind == "text" and text is None:
        raise MalformedEvent("message.text missing")
    attachments = message.get("attachments")
    attachment_types: tuple[str, ...] = ()
    if isinstance(attachments, list):
        attachment_types = tuple(
            str(item.get("type")) for item in attachments if isinstance(item, dict) and item.get("type")
        )
    return ZaloEvent(
        kind=kind,
        event_name=event_name,
        app_id=app_id,
        timestamp=timestamp,
        user_id=user_id,
        dedupe_key=msg_id,
        text=text,
        attachment_types=attachment_types,
        quote_msg_id=_as_id(message.get("quote_msg_id")),
    )
