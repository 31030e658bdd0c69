"""The counselor console shows admins a banner when messages failed (real Chromium, headless)."""
from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from api.settings import Settings
from tests.gateway.browser import submit_login
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, staff_settings
from tests.gateway.waiting import eventually_blocking

CHAT = 626262


def test_console_shows_admins_a_failed_banner(settings: Settings, fake_telegram: FakeTelegram,
                                              chromium: Browser) -> None:
    fake_telegram.fail_next(400, times=1)
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        response = http.post("/webhooks/telegram", json=text_update(CHAT, "xin chào"),
                             headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert response.status_code == 200
        token = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                          ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        eventually_blocking(lambda: http.get("/api/v1/admin/failed/count", headers=headers).json()["total"] == 1,
                            what="the failed delivery")
        page = chromium.new_page()
        page.goto(f"{gateway.url}/console")
        submit_login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        banner = page.locator("#failed-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("1 tin trả lời không gửi được")
        expect(banner).to_contain_text("requeue-failed")
