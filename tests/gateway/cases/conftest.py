"""Fixtures of the case tests that drive the case log directly (no app)."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from api.security.crypto import Crypto
from api.settings import Settings


@pytest.fixture
def crypto() -> Crypto:
    """Pseudonymous ids and encryption with keys of this test only."""
    return Crypto(Settings(_env_file=None, id_hmac_secret="case-test",  # type: ignore[call-arg]
                           data_encryption_key=Fernet.generate_key().decode()))
