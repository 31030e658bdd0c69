"""Fixtures of the content tests: the settings point at a small domain.yml and an empty NLU folder."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.main import create_app
from api.settings import Settings
from tests.gateway.content.small_domain import content_settings
from tests.gateway.fakes.server import ServerThread
from tests.gateway.live import LiveGateway


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:  # overrides the shared fixture
    return content_settings(settings, tmp_path)


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[ServerThread, FastAPI]]:
    """The gateway served in a thread, for this folder's browser tests."""
    app = create_app(settings)
    with LiveGateway(app) as gateway:
        yield gateway, app
