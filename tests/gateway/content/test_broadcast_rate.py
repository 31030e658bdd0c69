"""A broadcast to many subscribers goes out no faster than the delivery worker's global rate."""
from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio
RATE = 4.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"delivery_global_rate_per_second": RATE})


async def test_broadcast_is_spread_by_the_global_rate_limit(client: httpx.AsyncClient, app: FastAPI,
                                                            fake_telegram: FakeTelegram) -> None:
    chats = list(range(801, 813))
    for chat in chats:
        assert (await post_update(client, text_update(chat, "đăng ký"))).status_code == 200
    await eventually(lambda: all(len(fake_telegram.sent(c)) == 1 for c in chats), timeout=20, what="confirmations")
    headers = staff_token(app, "lan@example.org")
    broadcast = (await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Nhịp gửi", "text": "Tin chiến dịch", "channels": ["telegram"]})).json()
    bucket = app.state.context.delivery_worker.global_bucket
    await eventually(lambda: bucket.available() >= bucket.capacity, what="the bucket refilled after the confirmations")
    started = time.monotonic()
    await client.post(f"/api/v1/broadcasts/{broadcast['id']}/send", headers=headers)
    await eventually(lambda: all(len(fake_telegram.sent(c)) == 2 for c in chats), timeout=20, what="broadcast")
    times = sorted(c.at for c in fake_telegram.calls if c.method == "sendMessage" and c.at >= started)
    assert len(times) == len(chats)
    # Burst of RATE, then RATE per second: 12 messages need at least (12 - 4) / 4 = 2 s.
    assert times[-1] - times[0] >= (len(chats) - RATE) / RATE * 0.8
