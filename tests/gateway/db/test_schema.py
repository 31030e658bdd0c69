"""The migrations and the models describe the same schema (SQLite and PostgreSQL)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from api import models
from api.db.base import Base


def test_every_model_module_is_registered() -> None:
    tables = set(models.Base.metadata.tables)
    assert {"users", "audit_log", "cases", "case_messages", "case_notes", "notifications"} <= tables
    assert {"conversations", "inbound_messages", "outbound_messages"} <= tables


def test_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": False})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations differ; add a migration:\n" + \
        "\n".join(repr(d) for d in differences)
