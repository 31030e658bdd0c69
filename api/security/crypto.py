"""Pseudonymous ids and encryption at rest for children's data.

Ids: HMAC-SHA256(ID_HMAC_SECRET, "<channel>:<platform user id>") so Rasa, logs and the case log never
see a platform id. Text and the platform id needed to reply are stored encrypted with Fernet keys from
DATA_ENCRYPTION_KEY (comma separated, newest first: MultiFernet decrypts with any, encrypts with the first).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from api.settings import Settings

log = logging.getLogger(__name__)

SENDER_HEX_LENGTH = 32


class CryptoConfigError(RuntimeError):
    """Raised when keys are missing or malformed where that is not allowed."""


def _derive_dev_key(id_secret: str) -> bytes:
    digest = hashlib.sha256(b"dev-data-encryption-key:" + id_secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys(settings: Settings) -> list[str]:
    """The Fernet keys of DATA_ENCRYPTION_KEY, newest first (outside production, a development key
    derived from the id secret when it is empty)."""
    raw_keys = [k.strip() for k in settings.data_encryption_key.get_secret_value().split(",") if k.strip()]
    if not raw_keys:
        if settings.environment == "production":
            raise CryptoConfigError("DATA_ENCRYPTION_KEY is required in production")
        log.warning("DATA_ENCRYPTION_KEY is not set: using a development key derived from the id secret")
        raw_keys = [_derive_dev_key(settings.id_hmac_secret.get_secret_value()).decode("ascii")]
    return raw_keys


class Crypto:
    """Pseudonymisation and symmetric encryption bound to one settings object."""

    def __init__(self, settings: Settings) -> None:
        self._id_secret = settings.id_hmac_secret.get_secret_value().encode("utf-8")
        if not self._id_secret:
            raise CryptoConfigError("ID_HMAC_SECRET is empty")
        raw_keys = configured_keys(settings)
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in raw_keys])
        except (ValueError, TypeError) as exc:
            raise CryptoConfigError("DATA_ENCRYPTION_KEY holds a malformed Fernet key") from exc

    def pseudonymous_id(self, channel: str, platform_user_id: str) -> str:
        """The sender id Rasa and the case log see: "<channel>:<hmac hex[:32]>"."""
        mac = hmac.new(self._id_secret, f"{channel}:{platform_user_id}".encode(), hashlib.sha256)
        return f"{channel}:{mac.hexdigest()[:SENDER_HEX_LENGTH]}"

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise CryptoConfigError("stored value cannot be decrypted with the configured keys") from exc

    def encrypt_json(self, value: Any) -> str:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))

    def rotate(self, token: str) -> str:
        """Re-encrypt a value with the newest key (`python -m api.cli rotate-keys` does it for every
        stored value: api/security/rotation.py)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
