"""The child's web chat in real Chromium on a phone (390x844) and a desktop (1366x900): the header with
"Thoát nhanh" and "Gọi 111" never leaves the screen, new messages scroll into view, focus comes back to
the message box, the transcript survives a reload and quick exit wipes it, a counselor joining, speaking
by name and closing shows on the page, focus rings are visible, and axe-core finds no serious or
critical problem. Screenshots are saved in the test's tmp dir (the phone's also in docs/screenshots)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from api.cases.presence import CASE_CLOSED, COUNSELOR_JOINED
from api.settings import Settings
from tests.gateway.browser import accessibility_problems
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.server import ServerThread
from tests.gateway.live import live_gateway
from tests.gateway.screenshots import doc_screenshot
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, staff_settings
from tests.gateway.waiting import eventually_blocking

NEUTRAL_PREFIX = "https://www.google.com/search?q=thoi+tiet"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
REPLY_TIMEOUT_MS = 10_000

# One backend is enough for a browser run; the API tests cover both databases.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def gateway(settings: Settings, fake_rasa: FakeRasa) -> Iterator[ServerThread]:
    with live_gateway(staff_settings(settings)) as live:
        yield live


def _open(chromium: Browser, viewport: str) -> Page:
    # bypass_csp: axe-core is injected as an inline script, which the page's CSP (rightly) refuses.
    context = chromium.new_context(locale="vi-VN", viewport=VIEWPORTS[viewport], bypass_csp=True)
    tab = context.new_page()
    # No internet here: the neutral site is answered locally, and nothing else may leave the machine.
    tab.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body="<html><body>Thời tiết hôm nay</body></html>"))
    return tab


def _send(page: Page, text: str) -> None:
    box = page.get_by_label("Tin nhắn của bạn")
    box.fill(text)
    box.press("Enter")


def _focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def _header_and_last_message_in_view(page: Page) -> None:
    expect(page.get_by_role("button", name="Thoát nhanh")).to_be_in_viewport()
    expect(page.get_by_role("link", name=re.compile("Gọi 111"))).to_be_in_viewport()
    expect(page.locator("#log .msg").last).to_be_in_viewport()
    expect(page.get_by_label("Tin nhắn của bạn")).to_be_in_viewport()
    assert page.evaluate("window.scrollY") == 0  # the page stays put: the log is what scrolls


def _screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_ten_exchanges_reload_and_quick_exit(gateway: ServerThread, chromium: Browser, tmp_path: Path,
                                              viewport: str) -> None:
    page = _open(chromium, viewport)
    try:
        page.goto(gateway.url + "/chat")
        for n in range(1, 11):
            _send(page, f"Tin nhắn số {n}")
            expect(page.locator("#log .msg.bot").last).to_have_text(
                re.compile(f"Mình nghe rồi: Tin nhắn số {n}$"), timeout=REPLY_TIMEOUT_MS)
            assert _focused_id(page) == "message-input"  # typing goes on without a tap
        _header_and_last_message_in_view(page)
        assert page.evaluate("(() => { const l = document.getElementById('log'); "
                             "return l.scrollHeight > l.clientHeight; })()"), "the log must be the scrolling area"

        _screenshot(page, tmp_path, f"chat-{viewport}-ten-exchanges")
        assert accessibility_problems(page) == []

        # A reload in the same tab keeps the conversation.
        page.reload()
        expect(page.locator("#log .msg.user")).to_have_count(10)
        expect(page.locator("#log .msg.bot")).to_have_count(11)  # the welcome and ten replies
        expect(page.locator("#log .msg.bot").last).to_have_text(re.compile("Mình nghe rồi: Tin nhắn số 10$"))
        _header_and_last_message_in_view(page)
        _screenshot(page, tmp_path, f"chat-{viewport}-reloaded")

        # Quick exit from the keyboard (Esc twice) leaves, and wipes the transcript from the tab.
        page.get_by_label("Tin nhắn của bạn").focus()
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        page.wait_for_url(NEUTRAL_PREFIX + "*", timeout=5_000)
        page.goto(gateway.url + "/chat")
        expect(page.locator("#log .msg.bot")).to_have_count(1)  # the welcome only
        expect(page.locator("#log .msg.user")).to_have_count(0)
        assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('cp-webchat-log'))") == []
    finally:
        page.context.close()


def test_quick_exit_shortcut_is_told_to_screen_readers(gateway: ServerThread, chromium: Browser) -> None:
    page = _open(chromium, "desktop")
    try:
        page.goto(gateway.url + "/chat")
        exit_button = page.get_by_role("button", name="Thoát nhanh")
        expect(exit_button).to_have_accessible_description(re.compile("Esc hai lần"))
        expect(page.locator("#shortcut-help")).to_be_visible()  # on a phone: for screen readers only
        # One Esc alone does nothing (it also closes menus and the keyboard's candidates).
        page.keyboard.press("Escape")
        expect(page).to_have_url(re.compile("/chat$"))
    finally:
        page.context.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(v) for v in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


# Every background a focused control sits on: the page, the bot bubble, the notice, the handoff banner.
BACKGROUNDS = {"page": (255, 255, 255), "bot": (0xEE, 0xF3, 0xF8), "notice": (0xFF, 0xF8, 0xE1),
               "banner": (0xFD, 0xF0, 0xE3)}


def test_every_focus_ring_is_visible_and_a_quick_reply_gives_focus_back(gateway: ServerThread,
                                                                       chromium: Browser) -> None:
    page = _open(chromium, "desktop")
    try:
        page.goto(gateway.url + "/chat")
        _send(page, "cho xem nút")
        expect(page.locator("#log .quick-reply:enabled").first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        page.evaluate("document.activeElement.blur()")
        seen: dict[str, dict[str, str]] = {}
        for _ in range(16):  # every stop of the tab order, once round
            page.keyboard.press("Tab")
            ring = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {key: e.id || e.className || e.tagName, style: s.outlineStyle, width: s.outlineWidth,
                        color: s.outlineColor}; }""")
            key = ring.pop("key")
            if key != "BODY":  # past the last stop, focus leaves the page for a moment
                seen[key] = ring
        assert {"quick-exit", "hotline", "log", "message-input", "send-button", "quick-reply"} <= set(seen)
        for key, ring in seen.items():
            assert ring["style"] != "none" and float(ring["width"].rstrip("px")) >= 2, key
            for where, background in BACKGROUNDS.items():
                assert _contrast(_rgb(ring["color"]), background) >= 3, (key, where, ring["color"])

        # A quick reply: tapping it sends it, and focus is back in the message box.
        page.locator("#log .quick-reply:enabled").first.click()
        expect(page.locator("#log .msg.user").last).to_have_text(re.compile("Có$"))
        assert _focused_id(page) == "message-input"
        expect(page.locator("#log .msg.bot").last).to_have_text(re.compile("Mình nghe rồi: /affirm$"),
                                                                timeout=REPLY_TIMEOUT_MS)
        # Answered stays answered after a reload.
        page.reload()
        expect(page.locator("#log .msg.bot")).to_have_count(3)
        expect(page.locator("#log .quick-reply")).to_have_count(2)
        expect(page.locator("#log .quick-reply:enabled")).to_have_count(0)
    finally:
        page.context.close()


def _staff(http: httpx.Client) -> dict[str, str]:
    token = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    created = http.post("/api/v1/users", headers=admin, json={
        "email": "lan@example.vn", "password": STAFF_PASSWORD, "role": "counselor", "display_name": "Lan"})
    assert created.status_code == 201
    login = http.post("/api/v1/auth/login", json={"email": "lan@example.vn", "password": STAFF_PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_counselor_joins_speaks_by_name_and_closes(gateway: ServerThread, chromium: Browser,
                                                   tmp_path: Path) -> None:
    page = _open(chromium, "phone")
    state = page.locator("#handoff-state")
    try:
        with httpx.Client(base_url=gateway.url, timeout=10) as http:
            lan = _staff(http)
            page.goto(gateway.url + "/chat")
            assert accessibility_problems(page) == []
            _send(page, "cứu em với")
            expect(page.locator("#log .msg.system")).to_have_count(1, timeout=REPLY_TIMEOUT_MS)  # the handoff text
            expect(state).to_contain_text("Đang chờ tư vấn viên")

            case_id = eventually_blocking(lambda: next(iter(c["id"] for c in http.get(
                "/api/v1/cases", headers=lan).json()), None), what="the case")
            assert http.post(f"/api/v1/cases/{case_id}/accept", headers=lan).status_code == 200
            joined = page.locator("#log .msg.system").filter(has_text=COUNSELOR_JOINED.default[:40])
            expect(joined).to_be_visible(timeout=REPLY_TIMEOUT_MS)
            expect(joined.locator(".author")).to_contain_text("Tư vấn viên Lan")
            expect(state).to_have_text("Tư vấn viên Lan đang trò chuyện với bạn.")

            assert http.post(f"/api/v1/cases/{case_id}/messages", headers=lan,
                             json={"text": "Chị ở đây rồi. Em đang ở đâu?"}).status_code == 202
            said = page.locator("#log .msg.counselor").last
            expect(said).to_contain_text("Chị ở đây rồi. Em đang ở đâu?", timeout=REPLY_TIMEOUT_MS)
            expect(said.locator(".author")).to_have_text("Tư vấn viên Lan nói: ")  # the name, also for screen readers
            expect(said.locator(".author .visually-hidden")).to_have_text(" nói: ")
            _header_and_last_message_in_view(page)

            _send(page, "em đang ở nhà bà")
            expect(page.locator("#status")).to_have_text("Đã gửi cho tư vấn viên.")
            page.reload()  # the conversation and who answers come back
            expect(page.locator("#log .msg.counselor")).to_have_count(1)
            expect(state).to_have_text("Tư vấn viên Lan đang trò chuyện với bạn.")
            assert accessibility_problems(page) == []

            assert http.post(f"/api/v1/cases/{case_id}/close", headers=lan,
                             json={"outcome": "referred_111", "note": ""}).status_code == 200
            closing = page.locator("#log .msg.system").filter(has_text=CASE_CLOSED.default[:40])
            expect(closing).to_be_visible(timeout=REPLY_TIMEOUT_MS)
            expect(closing.locator('a[href="tel:111"]')).to_have_text("111")
            expect(state).to_be_hidden()
            _header_and_last_message_in_view(page)
            _screenshot(page, tmp_path, "chat-phone-counselor")
            doc_screenshot(page, "chat-phone.png")
    finally:
        page.context.close()
