"""The deploy command that registers the Telegram webhook (against the fake Bot API)."""
from __future__ import annotations

import pytest

from api.cli import telegram_set_webhook
from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET

pytestmark = pytest.mark.asyncio


async def test_set_webhook_sends_secret_and_allowed_updates(settings: Settings, fake_telegram: FakeTelegram) -> None:
    target = await telegram_set_webhook(settings, "https://chat.example.org/webhooks/telegram", False)
    assert target == "https://chat.example.org/webhooks/telegram"
    call = fake_telegram.calls_of("setWebhook")[-1]
    assert call.params["url"] == target
    assert call.params["secret_token"] == TELEGRAM_SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]


async def test_set_webhook_refuses_a_bad_secret(settings: Settings, fake_telegram: FakeTelegram) -> None:
    bad = settings.model_copy(update={"telegram_webhook_secret": type(settings.telegram_webhook_secret)("has space")})
    with pytest.raises(SystemExit):
        await telegram_set_webhook(bad, None, False)
    assert fake_telegram.calls_of("setWebhook") == []
