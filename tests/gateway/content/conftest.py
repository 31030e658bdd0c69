"""Fixtures of the content tests: the settings point at a small domain.yml and an empty NLU folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings
from tests.gateway.content.small_domain import content_settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:  # overrides the shared fixture
    return content_settings(settings, tmp_path)
