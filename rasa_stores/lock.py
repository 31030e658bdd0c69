"""Rasa's lock store chosen by one URL.

endpoints.yml:

    lock_store:
      type: rasa_stores.lock.UrlLockStore
      url: ${LOCK_STORE_URL}

LOCK_STORE_URL empty: in memory (one Rasa process). redis://[:password@]host:6379/1 (rediss://
for TLS): Rasa's Redis lock store, so several Rasa replicas handle one conversation's messages one
at a time and in order. The database number defaults to 1, as in Rasa.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Text
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


def create_inner_lock_store(url: str, **kwargs: Any) -> LockStore:
    if not url:
        return InMemoryLockStore()
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"LOCK_STORE_URL: unsupported scheme {parts.scheme!r} (redis:// or empty)")
    path = parts.path.strip("/")
    return RedisLockStore(
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        db=int(path) if path else 1,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=parts.scheme == "rediss",
        **kwargs,
    )


class UrlLockStore(LockStore):
    """In memory when the URL is empty, Redis otherwise."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, url: Optional[Text] = None,
                 **kwargs: Any) -> None:
        if endpoint_config is not None:
            url = endpoint_config.url
            kwargs = {**endpoint_config.kwargs, **kwargs}
        address = str(url or "").strip()
        self._inner = create_inner_lock_store(address, **kwargs)
        super().__init__()
        logger.info("lock store: %s", "redis" if address else "in memory")

    @property
    def inner(self) -> LockStore:
        return self._inner

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self._inner.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self._inner.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._inner.save_lock(lock)
