"""Rasa's tracker store, chosen by one URL, that never keeps a user's message text in clear.

endpoints.yml:

    tracker_store:
      type: rasa_stores.tracker.ProtectedTrackerStore
      url: ${TRACKER_STORE_URL}

TRACKER_STORE_URL picks the store behind it:

- empty: in memory (one Rasa process; what `make run` uses);
- postgresql://user:password@host:5432/rasa: Rasa's SQL store (table `events`; the schema named by
  POSTGRESQL_SCHEMA when set, as in Rasa);
- redis://[:password@]host:6379/0 (rediss:// for TLS): Rasa's Redis store, each conversation
  expiring TRACKER_STORE_EXPIRY_SECONDS after its last save when that is set.

Every store gets the events with the text of each user message sealed (rasa_stores.sealing); Rasa
gets them back opened, so the policies (intents, entities, slots) and the actions (which read the
earlier messages of the session in context) work as with Rasa's own stores. A persistent store
needs TRACKER_ENCRYPTION_KEY and refuses to start without it; the in-memory store seals with a key
of its own that dies with the process.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, Iterable, Optional, Text
from urllib.parse import unquote, urlsplit

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import (
    InMemoryTrackerStore,
    RedisTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_stores.sealing import KEY_ENV, Sealer

logger = logging.getLogger(__name__)

EXPIRY_ENV = "TRACKER_STORE_EXPIRY_SECONDS"


def _redis_kwargs(url: str) -> Dict[str, Any]:
    parts = urlsplit(url)
    path = parts.path.strip("/")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(path) if path else 0,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


def sql_url(url: str) -> str:
    """The URL for SQLAlchemy 1.4 with psycopg2 (the driver in Rasa's environment): postgres://
    and the gateway's postgresql+psycopg:// spellings are accepted too."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        return f"postgresql+psycopg2://{rest}"
    return url


def describe(url: str) -> str:
    """The store a URL names, without its password (for logs)."""
    if not url:
        return "in memory"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def create_inner_store(
    url: str,
    domain: Optional[Domain],
    event_broker: Optional[EventBroker],
    kwargs: Dict[str, Any],
    environ: Optional[Dict[str, str]] = None,
) -> TrackerStore:
    env = environ if environ is not None else os.environ
    scheme = urlsplit(url).scheme if url else ""
    if not url:
        return InMemoryTrackerStore(domain or Domain.empty(), event_broker)
    if scheme in ("redis", "rediss"):
        expiry = str(kwargs.pop("record_exp", "") or env.get(EXPIRY_ENV, "")).strip()
        return RedisTrackerStore(
            domain or Domain.empty(),
            event_broker=event_broker,
            record_exp=int(float(expiry)) if expiry else None,
            **_redis_kwargs(url),
            **kwargs,
        )
    if scheme.startswith("postgres") or scheme.startswith("sqlite"):
        return SQLTrackerStore(domain, host=sql_url(url), event_broker=event_broker, **kwargs)
    raise ValueError(f"TRACKER_STORE_URL: unsupported scheme {scheme!r} (postgresql://, redis:// or empty)")


class ProtectedTrackerStore(TrackerStore):
    """A tracker store (in memory, SQL or Redis) that keeps user message text sealed."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[Text] = None,
        sealer: Optional[Sealer] = None,
        **kwargs: Any,
    ) -> None:
        address = str(host or url or "").strip()
        if sealer is None:
            sealer = Sealer.from_env()
        if sealer is None:
            if address:
                raise ValueError(
                    f"{KEY_ENV} is required with a persistent tracker store ({describe(address)}): "
                    "generate one with `python -m rasa_stores.keygen`"
                )
            sealer = Sealer.ephemeral()
        self._sealer = sealer
        self._inner = create_inner_store(address, domain, event_broker, dict(kwargs))
        super().__init__(domain, event_broker)
        logger.info("tracker store: %s, user message text sealed", describe(address))

    @property
    def inner(self) -> TrackerStore:
        return self._inner

    # Rasa sets the domain once the model is loaded; the inner store builds the trackers.
    @property
    def domain(self) -> Domain:
        return self._inner.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        if hasattr(self, "_inner"):
            self._inner.domain = domain

    def _rebuilt(self, tracker: DialogueStateTracker, change: Any) -> DialogueStateTracker:
        events = [Event.from_parameters(change(event.as_dict(), tracker.sender_id)) for event in tracker.events]
        copy = tracker.init_copy()
        copy.update_with_events(events, None, override_timestamp=False)
        return copy

    def sealed(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker as it is stored: user text sealed."""
        return self._rebuilt(tracker, self._sealer.seal_event)

    def opened(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        return self._rebuilt(tracker, self._sealer.open_event)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._inner.save(self.sealed(tracker))

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        stored = await self._inner.retrieve(sender_id)
        return self.opened(stored) if stored is not None else None

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        stored = await self._inner.retrieve_full_tracker(conversation_id)
        return self.opened(stored) if stored is not None else None

    async def exists(self, conversation_id: Text) -> bool:
        return await self._inner.exists(conversation_id)

    async def keys(self) -> Iterable[Text]:
        return await self._inner.keys()
