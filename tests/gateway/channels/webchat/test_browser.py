"""The web chat in real Chromium: a greeting, a disclosure answered with 111, a quick reply, and the
quick-exit button. Uses the Rasa server at RASA_TEST_URL when set, else the fake Rasa server."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from api.main import create_app
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.server import ServerThread
from tests.gateway.live import LiveGateway

NEUTRAL_PREFIX = "https://www.google.com/search?q=thoi+tiet"
REAL_RASA_URL = os.environ.get("RASA_TEST_URL", "").strip()
REPLY_TIMEOUT_MS = 30_000 if REAL_RASA_URL else 10_000

# One backend is enough for a browser run; the API tests cover both databases.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def gateway(settings: Settings, fake_rasa: FakeRasa) -> Iterator[ServerThread]:
    if REAL_RASA_URL:
        settings = settings.model_copy(update={
            "rasa_url": REAL_RASA_URL,
            "rasa_token": SecretStr(os.environ.get("RASA_TEST_TOKEN", "")),
            "rasa_timeout_seconds": 20.0,
        })
    with LiveGateway(create_app(settings)) as live:
        yield live


@pytest.fixture
def page(gateway: ServerThread, chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})  # a phone
    tab = context.new_page()
    # No internet here: the neutral site is answered locally, and nothing else may leave the machine.
    tab.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body="<html><body>Thời tiết hôm nay</body></html>"))
    try:
        yield tab
    finally:
        context.close()


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#log .msg.bot")


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Tin nhắn của bạn")
    box.fill(text)
    box.press("Enter")


def test_full_exchange_in_chromium(page: Page, gateway: ServerThread, fake_rasa: FakeRasa) -> None:
    page.goto(gateway.url + "/chat")
    expect(page).to_have_title("Trò chuyện an toàn")
    hotline = page.get_by_role("link", name=re.compile("Gọi 111"))
    expect(hotline).to_be_visible()
    expect(hotline).to_have_attribute("href", "tel:111")
    exit_button = page.get_by_role("button", name="Thoát nhanh")
    expect(exit_button).to_be_visible()
    expect(page.locator("#log")).to_have_attribute("aria-live", "polite")
    # Keyboard: the quick exit is reachable at once (after the skip link).
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "quick-exit"

    welcome_count = bot_messages(page).count()

    # 1. A greeting gets a reply (a real assistant may answer with several bubbles).
    send(page, "Xin chào")
    expect(page.locator("#log .msg.user").last).to_contain_text("Xin chào")
    expect(bot_messages(page).nth(welcome_count)).to_be_visible(timeout=REPLY_TIMEOUT_MS)

    # 2. A disclosure gets a reply that shows 111 as a tap-to-call link in its text.
    with_hotline = bot_messages(page).filter(has=page.locator('p.text a[href="tel:111"]'))
    hotline_replies_before = with_hotline.count()
    send(page, "Cứu em với, chú hàng xóm hay sờ vào chỗ kín của em")
    expect(with_hotline.nth(hotline_replies_before)).to_contain_text("111", timeout=REPLY_TIMEOUT_MS)

    # 3. Quick replies: bot buttons are clickable and send their payload.
    quick_replies = page.locator("#log .quick-reply:enabled")
    if quick_replies.count() == 0:
        send(page, "cho mình xem các nút")
    expect(quick_replies.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    page.wait_for_timeout(300)  # let any remaining bubbles of the previous reply arrive
    before_tap = bot_messages(page).count()
    choice = quick_replies.first.inner_text()
    quick_replies.first.click()
    expect(page.locator("#log .msg.user").last).to_contain_text(choice)
    expect(bot_messages(page).nth(before_tap)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    if not REAL_RASA_URL:
        assert fake_rasa.texts()[-1] == "/affirm"  # the payload went to the assistant, not the title

    # 4. Quick exit: the page is replaced by a neutral site and the chat is gone from history.
    exit_button.click()
    page.wait_for_url(NEUTRAL_PREFIX + "*", timeout=5_000)
    assert page.url.startswith(NEUTRAL_PREFIX)
    expect(page.locator("body")).to_contain_text("Thời tiết")
    page.go_back()
    assert "/chat" not in page.url
