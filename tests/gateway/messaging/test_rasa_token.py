"""The gateway sends Rasa's token (RASA_TOKEN) with every REST channel call: Rasa's channel
(rasa_auth.rest.TokenRestInput) refuses a call without it."""
from __future__ import annotations

import pytest

from api.messaging.rasa_client import RasaClient
from tests.gateway.fakes.rasa import FakeRasa

pytestmark = pytest.mark.asyncio


async def test_the_rest_channel_call_carries_the_token(fake_rasa: FakeRasa) -> None:
    client = RasaClient(fake_rasa.url, token="rasa-token-1")
    try:
        replies = await client.send_message("telegram:1", "xin chào")
    finally:
        await client.aclose()
    assert replies[0]["text"] == "Mình nghe rồi: xin chào"
    assert fake_rasa.tokens == ["rasa-token-1"]


async def test_no_token_configured_sends_none(fake_rasa: FakeRasa) -> None:
    client = RasaClient(fake_rasa.url)
    try:
        await client.send_message("telegram:1", "xin chào")
    finally:
        await client.aclose()
    assert fake_rasa.tokens == [None]
