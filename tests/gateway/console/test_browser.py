"""The counselor console in real Chromium (system binary, headless): login, live queue, accept,
reply, the child's words arriving live, hand back."""
from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, staff_settings
from tests.gateway.waiting import drained_blocking, eventually_blocking

CHILD = 5550002


def _send(http: httpx.Client, text: str) -> None:
    response = http.post("/webhooks/telegram", json=text_update(CHILD, text),
                         headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert response.status_code == 200


def _texts(fake_telegram: FakeTelegram) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(CHILD)]


def test_console_login_queue_accept_reply_handback(settings: Settings, fake_telegram: FakeTelegram,
                                                   fake_rasa: FakeRasa, chromium: Browser) -> None:
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        admin = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = admin.json()["access_token"]
        created = http.post("/api/v1/users", headers={"Authorization": f"Bearer {token}"},
                            json={"email": "hoa@example.vn", "password": STAFF_PASSWORD, "role": "counselor",
                                  "display_name": "Chị Hoa"})
        assert created.status_code == 201

        page: Page = chromium.new_page()
        try:
            page.goto(f"{gateway.url}/console")
            expect(page.locator("html")).to_have_attribute("lang", "vi")
            page.fill("#login-email", "hoa@example.vn")
            page.fill("#login-password", "wrong-password-x")
            page.click("#login-form button[type=submit]")
            expect(page.locator("#login-error")).to_contain_text("không đúng")
            page.fill("#login-password", STAFF_PASSWORD)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#me-name")).to_contain_text("Chị Hoa")
            expect(page.locator("#live")).to_have_class("live on")
            expect(page.locator("#queue-empty")).to_be_visible()
            # The token lives in sessionStorage only, never in a cookie.
            assert page.context.cookies() == []

            _send(http, "cứu em với, có người lạ đang theo em")
            item = page.locator("#queue li").first
            # Live events, no reload. The bound is for a loaded 2-core machine: the message goes
            # through the webhook, the worker and the event stream before the page shows it.
            expect(item).to_contain_text("Khẩn cấp", timeout=15_000)
            expect(item).to_contain_text("Chờ nhận")
            assert page.evaluate("document.body.dataset.lastAlert") is not None  # the alert sound played
            expect(page.locator("#alert-banner")).to_be_visible()

            item.click()
            expect(page.locator("#transcript")).to_contain_text("cứu em với, có người lạ đang theo em")
            expect(page.locator("#case-signals")).to_contain_text("Từ ngữ về điều đáng lo: “cứu”")
            # The assistant's reading of the message renames the case opened at intake, live.
            expect(page.locator("#case-category")).to_have_text("Nguy hiểm ngay lúc này", timeout=20_000)
            expect(page.locator("#case-channel")).to_have_text("Telegram")
            page.click("#accept")
            expect(page.locator("#case-status")).to_have_text("Đang tư vấn")
            eventually_blocking(lambda: bool(fake_rasa.paused), what="rasa paused")

            page.fill("#reply-text", "Chị Hoa đây. Em đang ở đâu?")
            page.click("#reply-form button[type=submit]")
            # Telegram cannot show who speaks: the counselor's name goes before the words.
            eventually_blocking(lambda: "Tư vấn viên Chị Hoa: Chị Hoa đây. Em đang ở đâu?" in _texts(fake_telegram),
                                what="reply delivered")

            before = len(_texts(fake_telegram))
            _send(http, "em đang ở gần trường")
            expect(page.locator("#transcript")).to_contain_text("em đang ở gần trường", timeout=15_000)
            drained_blocking(gateway.app)
            assert len(_texts(fake_telegram)) == before  # the bot stays silent

            page.fill("#handback-note", "Đã hướng dẫn em vào trường tìm bảo vệ")
            page.click("#handback-form button[type=submit]")
            page.click("#confirm-ok")  # the hand-back is confirmed in a dialog
            expect(page.locator("#case-status")).to_have_text("Trợ lý đang trò chuyện")
            eventually_blocking(lambda: not fake_rasa.paused and bool(fake_rasa.triggered),
                                what="rasa resumed with check-in")
            eventually_blocking(lambda: any("quay lại" in t for t in _texts(fake_telegram)),
                                what="check-in delivered")
            expect(page.locator("#notes")).to_contain_text("Đã hướng dẫn em vào trường tìm bảo vệ")

            page.click("#logout")
            expect(page.locator("#login-view")).to_be_visible()
            assert page.evaluate("sessionStorage.getItem('console.session')") is None
        finally:
            page.close()
