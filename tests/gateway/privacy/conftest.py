"""Fixtures of the privacy tests: staff settings with Rasa's SQL tracker store in the test database
(Rasa's table `events`, as SQLTrackerStore makes it), and helpers to fill and read it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, select

from api.settings import Settings
from tests.gateway.staff import staff_settings

_METADATA = MetaData()
# The columns of Rasa 3.6's SQLTrackerStore.SQLEvent.
EVENTS = Table(
    "events", _METADATA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)



class RasaEvents:
    """Rasa's SQL tracker store in the test database."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        _METADATA.create_all(self.engine)

    def add(self, sender_id: str, count: int = 3) -> None:
        with self.engine.begin() as connection:
            connection.execute(EVENTS.insert(), [
                {"sender_id": sender_id, "type_name": "user", "timestamp": 1.0 + i, "data": "{}"}
                for i in range(count)])

    def count(self, sender_id: str | None = None) -> int:
        query = select(func.count()).select_from(EVENTS)
        if sender_id is not None:
            query = query.where(EVENTS.c.sender_id == sender_id)
        with self.engine.connect() as connection:
            return int(connection.scalar(query) or 0)


@pytest.fixture
def rasa_events(database_url: str) -> Iterator[RasaEvents]:
    events = RasaEvents(database_url)
    yield events
    events.engine.dispose()


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Staff accounts, and purges that reach Rasa's tracker store (here: the test database)."""
    return staff_settings(settings, purge_tracker_store_url=database_url)
