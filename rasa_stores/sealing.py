"""Sealing the text of user messages in Rasa's tracker events.

The tracker store keeps intents, entities, slots and the risk reading in clear (the policies and
the actions read those) but never the words a child typed. Each `text` of a user event (and the
copy in its `parse_data`) is encrypted with AES-SIV under a key from the environment, with the
conversation id and the event's timestamp as associated data:

- deterministic for one event: saving the same tracker twice stores the same bytes, so Rasa's
  Redis store can still tell old events from new ones when it merges sessions;
- two equal messages in different events (other timestamps) give different ciphertexts;
- a sealed text copied to another conversation does not open.

TRACKER_ENCRYPTION_KEY holds one or more keys, comma-separated, each the URL-safe base64 of 64
random bytes. The first seals; every one opens (rotation: put the new key first, keep the old one
until the old conversations have expired). A text that no key opens reads as empty: the
conversation goes on, only that earlier message is missing from the context reading.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import logging
import os
import secrets
from typing import Any, Dict, List, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

logger = logging.getLogger(__name__)

KEY_ENV = "TRACKER_ENCRYPTION_KEY"
PREFIX = "sealed:v1:"
KEY_BYTES = 64


class SealingKeyError(ValueError):
    """TRACKER_ENCRYPTION_KEY is malformed."""


def generate_key() -> str:
    """A new key for TRACKER_ENCRYPTION_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as error:
        raise SealingKeyError(f"{KEY_ENV}: a key is not URL-safe base64") from error
    if len(raw) not in (32, 48, 64):
        raise SealingKeyError(f"{KEY_ENV}: a key must decode to 64 bytes (got {len(raw)})")
    return raw


def _key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:8]


class Sealer:
    """Seals and opens the text of user events (dicts in Rasa's event format)."""

    def __init__(self, keys: List[bytes]) -> None:
        if not keys:
            raise SealingKeyError(f"{KEY_ENV}: no key")
        self._keys = [(_key_id(key), AESSIV(key)) for key in keys]
        self._by_id = dict(self._keys)
        self._warned = False

    @classmethod
    def from_text(cls, text: str) -> Sealer:
        return cls([_decode_key(part) for part in text.split(",") if part.strip()])

    @classmethod
    def from_env(cls, environ: Optional[Dict[str, str]] = None) -> Optional[Sealer]:
        """The sealer of TRACKER_ENCRYPTION_KEY, or None when it is empty."""
        text = (environ if environ is not None else os.environ).get(KEY_ENV, "").strip()
        return cls.from_text(text) if text else None

    @classmethod
    def ephemeral(cls) -> Sealer:
        """A key that lives as long as this process (for the in-memory store)."""
        return cls([secrets.token_bytes(KEY_BYTES)])

    @staticmethod
    def _associated(sender_id: str, event: Dict[str, Any]) -> List[bytes]:
        return [sender_id.encode(), repr(event.get("timestamp")).encode()]

    def seal_text(self, text: str, sender_id: str, event: Dict[str, Any]) -> str:
        if not text or text.startswith(PREFIX):
            return text
        key_id, aead = self._keys[0]
        sealed = aead.encrypt(text.encode(), self._associated(sender_id, event))
        return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(sealed).decode()}"

    def open_text(self, text: Any, sender_id: str, event: Dict[str, Any]) -> Any:
        if not isinstance(text, str) or not text.startswith(PREFIX):
            return text
        key_id, _, payload = text[len(PREFIX):].partition(":")
        aead = self._by_id.get(key_id)
        try:
            if aead is None:
                raise InvalidTag
            return aead.decrypt(base64.urlsafe_b64decode(payload.encode()),
                                self._associated(sender_id, event)).decode()
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
            if not self._warned:
                self._warned = True
                logger.warning("a stored message text could not be opened (unknown key %s or altered "
                               "data); it reads as empty", key_id or "?")
            return ""

    def seal_event(self, event: Dict[str, Any], sender_id: str) -> Dict[str, Any]:
        return _map_user_text(event, lambda text: self.seal_text(text, sender_id, event))

    def open_event(self, event: Dict[str, Any], sender_id: str) -> Dict[str, Any]:
        return _map_user_text(event, lambda text: self.open_text(text, sender_id, event))


def blank_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """The event with the user's text removed (for a store that keeps no text at all)."""
    return _map_user_text(event, lambda text: "" if isinstance(text, str) else text)


def _map_user_text(event: Dict[str, Any], change: Any) -> Dict[str, Any]:
    if event.get("event") != "user":
        return event
    result = copy.copy(event)
    if "text" in result:
        result["text"] = change(result["text"])
    parse_data = result.get("parse_data")
    if isinstance(parse_data, dict) and "text" in parse_data:
        result["parse_data"] = dict(parse_data, text=change(parse_data["text"]))
    return result
