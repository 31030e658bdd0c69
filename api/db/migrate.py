"""Run Alembic migrations programmatically (the app does this on start)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "api" / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_heads(database_url: str) -> None:
    """Apply every branch (core, cases, zalo, content) up to its head."""
    command.upgrade(alembic_config(database_url), "heads")
