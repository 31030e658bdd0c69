"""Fixtures of the Zalo tests: the shared settings with the Zalo channel switched on against the fake."""
from __future__ import annotations

import pytest

from api.settings import Settings
from tests.gateway.fakes.zalo import FakeZalo
from tests.gateway.fakes.zalo_events import zalo_settings


@pytest.fixture
def settings(settings: Settings, fake_zalo: FakeZalo) -> Settings:  # overrides the shared fixture
    return zalo_settings(settings, fake_zalo)
