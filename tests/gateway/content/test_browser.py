"""The content screens in real Chromium: edit a response (live at once), a safety-critical edit refused
without 111 and approved by a second person, compare versions, the directory and the dashboard."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from tests.gateway.browser import sign_in_to_content
from tests.gateway.fakes.server import ServerThread
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PASSWORD = "x" * 12  # what staff_token sets


@pytest.fixture
def page(live: tuple[ServerThread, FastAPI], chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="vi-VN")
    tab = context.new_page()
    outside: list[str] = []
    tab.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: (outside.append(route.request.url),
                                                                      route.abort()))
    try:
        yield tab
    finally:
        context.close()
    assert outside == []  # no CDN, nothing leaves the machine


def _nlg_text(url: str, name: str) -> str:
    body = {"response": name, "arguments": {}, "tracker": {"slots": {"name": "Minh"}}, "channel": {"name": "web"}}
    return httpx.post(f"{url}/nlg", json=body, timeout=5).json()["text"]


def test_content_screens(page: Page, live: tuple[ServerThread, FastAPI]) -> None:
    gateway, app = live
    staff_token(app, "lan@example.org")
    staff_token(app, "hoa@example.org")
    sign_in_to_content(page, gateway.url, "lan@example.org", PASSWORD)

    # A plain response: the edit is live at once and /nlg serves it.
    page.locator("#response-list li[data-name=utter_greet]").click()
    page.locator("#variations .v-text").first.fill("Chào {name}! Tháng hành động vì trẻ em đã bắt đầu.")
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("#preview .bubble").first).to_have_text("Chào {name}! Tháng hành động vì trẻ em đã bắt đầu.")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    expect(page.locator("#notice")).to_contain_text("đang dùng ngay")
    assert _nlg_text(gateway.url, "utter_greet") == "Chào Minh! Tháng hành động vì trẻ em đã bắt đầu."
    page.locator("#versions tr[data-version='1']").get_by_role("button", name="So sánh").click()
    expect(page.locator("#diff")).to_contain_text("+Chào {name}! Tháng hành động vì trẻ em đã bắt đầu.")

    # A safety-critical response: refused without 111, pending with it.
    page.locator("#response-list li[data-name=utter_disclosure_sexual_abuse]").click()
    expect(page.locator("#editor-safety")).to_be_visible()
    page.locator("#variations .v-text").first.fill("Cảm ơn em đã kể cho mình.")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    expect(page.locator("#notice")).to_contain_text("phải có số tổng đài 111")
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    page.locator("#variations .v-text").first.fill("Cảm ơn em đã kể cho mình. Gọi 111 (miễn phí, 24/7) nhé.")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    expect(page.locator("#notice")).to_contain_text("chờ người thứ hai duyệt")
    page.locator("#versions tr[data-version='2']").get_by_role("button", name="Duyệt").click()
    expect(page.locator("#notice")).to_contain_text("người thứ hai")  # the author cannot approve
    assert _nlg_text(gateway.url, "utter_disclosure_sexual_abuse").startswith("Cảm ơn em đã kể. Đó không")

    page.get_by_role("button", name="Đăng xuất").click()
    sign_in_to_content(page, gateway.url, "hoa@example.org", PASSWORD)
    page.locator("#response-list li[data-name=utter_disclosure_sexual_abuse]").click()
    page.locator("#versions tr[data-version='2']").get_by_role("button", name="Duyệt").click()
    expect(page.locator("#notice")).to_have_text("Đã duyệt.")
    expect(page.locator("#versions tr[data-version='2'] td").nth(1)).to_have_text("Đang dùng")
    assert _nlg_text(gateway.url, "utter_disclosure_sexual_abuse") == \
        "Cảm ơn em đã kể cho mình. Gọi 111 (miễn phí, 24/7) nhé."

    # The directory: the national numbers, 111 first.
    page.get_by_role("button", name="Danh bạ hỗ trợ").click()
    expect(page.locator("#directory tbody tr")).to_have_count(3)
    expect(page.locator("#directory tbody tr").first.locator("td").nth(3)).to_have_text("111")

    # The dashboard draws its cards and charts from the JSON figures.
    page.get_by_role("button", name="Số liệu").click()
    expect(page.locator("#d-cards .card")).to_have_count(3)
    expect(page.locator("#d-broadcasts")).to_contain_text("Chưa có số liệu")

    # Broadcasts: create a draft.
    page.get_by_role("button", name="Gửi tin").click()
    page.get_by_label("Tiêu đề", exact=True).fill("Tháng hành động")
    page.get_by_label("Nội dung", exact=True).fill("Cơ thể em là của em. Cần giúp, gọi 111.")
    page.get_by_role("button", name="Tạo tin").click()
    expect(page.locator("#broadcasts tbody tr").first).to_contain_text("Nháp")
