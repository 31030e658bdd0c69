"""The counselor console at 1366x900 in the system Chromium: staff read Vietnamese names, never codes
(categories, signals, button taps); the queue shows an excerpt and a waiting time that counts; the
tab title counts new urgent cases and a browser notification is raised; closing and handing back
are confirmed; a waiting urgent case nobody accepted is closed only by a supervisor with a reason;
each console shows a role page to the staff it is not for; axe-core finds no serious issue.

The screenshots of docs/screenshots are taken here (tests/gateway/screenshots.py: only with
UPDATE_DOC_SCREENSHOTS=1 do they replace the ones in docs/)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import update

from api.db.base import utcnow
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import Risk
from api.settings import Settings
from tests.gateway.browser import accessibility_problems, submit_login
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import live_gateway
from tests.gateway.screenshots import doc_screenshot
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, staff_settings

CODES = ("disclose_", "utter_", "lex:", "intent:", "model:", "damp:", "/affirm", "/request_counselor",
         "sexual_abuse", "telegram")
SIGNALS = ["lex:sexual_abuse:sờ chỗ kín", "intent:disclose_sexual_abuse:0.93", "intent2:report_third_party:0.31",
           "model:high:n=0.01,c=0.10,h=0.81,i=0.08", "model:harm=sexual", "model:who=self",
           "damp:general:làm sao"]
# Records what the console asks of the Notifications API (the headless browser shows none).
NOTIFICATION_SPY = """
window.__notes = [];
window.Notification = class { constructor(title, options) { window.__notes.push({title, body: options.body}); }
  static get permission() { return "granted"; } static requestPermission() { return Promise.resolve("granted"); }
  close() {} };
"""


def _store(app, user: str, key: str, text: str, *, kind: str = "text", hours_ago: float = 0,  # type: ignore[no-untyped-def]
           risk: Risk | None = None) -> None:
    """A child's message as stored and already answered; with `risk`, logged into the case log."""
    with app.state.context.database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id=user, platform_message_key=key,
                                 kind=kind, text=text, crypto=app.state.context.crypto)
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound.id)
                        .values(received_at=utcnow() - timedelta(hours=hours_ago), status="done"))
        if risk is not None:
            conversation = session.get(Conversation, inbound.conversation_id)
            app.state.context.case_log.record_child_message(session, conversation, inbound_id=inbound.id,
                                                            text=text, risk=risk)


def _seed_case(app, user: str) -> None:  # type: ignore[no-untyped-def]
    _store(app, user, f"{user}-a", "chào bạn", hours_ago=2)
    _store(app, user, f"{user}-b", "/affirm", kind="button", hours_ago=1)
    _store(app, user, f"{user}-c", "chú hàng xóm sờ chỗ kín của em",
           risk=Risk("high", "disclose_sexual_abuse", SIGNALS))
    _store(app, user, f"{user}-d", "/request_counselor", kind="button",
           risk=Risk("none", None, [], escalate=True, counselor_requested=True))


@pytest.fixture
def console(settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> Iterator[tuple[str, object]]:
    """The gateway with a counselor, a supervisor and a campaign officer; (url, app)."""
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        token = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
        staff = (("hoa@example.vn", "counselor", "Chị Hoa"), ("minh@example.vn", "supervisor", "Anh Minh"),
                 ("nga@example.vn", "campaign_staff", "Chị Nga"))
        for email, role, name in staff:
            created = http.post("/api/v1/users", headers={"Authorization": f"Bearer {token['access_token']}"},
                                json={"email": email, "password": STAFF_PASSWORD, "role": role, "display_name": name})
            assert created.status_code == 201
        yield gateway.url, gateway.app


def _page(chromium: Browser, url: str, path: str, email: str, spy: bool = False) -> Page:
    """Signed in at 1366x900 in a fresh browser context (closed with `page.context.close()`). The
    page's CSP is bypassed so that axe-core can be injected; the console's own CSP is tested elsewhere."""
    page = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True).new_page()
    if spy:
        page.add_init_script(NOTIFICATION_SPY)
    page.goto(f"{url}{path}")
    submit_login(page, email)
    return page


def _shot(page: Page, name: str) -> None:
    doc_screenshot(page, name, full_page=True)


def _no_codes(page: Page) -> None:
    for text in (page.evaluate("document.body.innerText"), page.evaluate("document.body.textContent")):
        assert not [code for code in CODES if code in text], [code for code in CODES if code in text]


def test_console_reads_in_vietnamese(console: tuple[str, object], chromium: Browser) -> None:
    url, app = console
    _seed_case(app, "701")
    page = _page(chromium, url, "/console", "hoa@example.vn", spy=True)
    try:
        item = page.locator("#queue li").first
        expect(item).to_contain_text("Nghiêm trọng")
        expect(item).to_contain_text("Xâm hại tình dục")
        expect(item).to_contain_text("Bấm nút: Nói chuyện với tư vấn viên")  # the excerpt: the child's latest
        expect(page.locator("#me-name")).to_contain_text("Tư vấn viên")
        wait = item.locator(".wait")
        first = wait.inner_text()
        assert first.startswith("chờ ")
        expect(wait).not_to_have_text(first, timeout=5_000)  # ticks without a reload
        expect(page).to_have_title("(1) Bảng điều khiển tư vấn viên")
        _no_codes(page)
        _shot(page, "console-queue.png")

        # A new urgent case arrives live: the badge counts it and a notification is raised (no child words).
        with httpx.Client(base_url=url, timeout=10) as http:
            sent = http.post("/webhooks/telegram", json=text_update(5550077, "cứu em với"),
                             headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
            assert sent.status_code == 200
        expect(page).to_have_title("(2) Bảng điều khiển tư vấn viên", timeout=15_000)
        notes = page.evaluate("window.__notes")
        assert notes and "Khẩn cấp" in notes[0]["title"] and "cứu" not in notes[0]["body"]

        page.locator("#queue li", has_text="Xâm hại tình dục").click()
        expect(page.locator("#case-category")).to_have_text("Xâm hại tình dục")
        expect(page.locator("#case-channel")).to_have_text("Telegram")
        expect(page.locator("#case-signals")).to_contain_text("Từ ngữ về xâm hại tình dục: “sờ chỗ kín”")
        expect(page.locator("#case-signals")).to_contain_text("Trợ lý hiểu là: Xâm hại tình dục (93%)")
        expect(page.locator("#transcript")).to_contain_text("Bấm nút: Nói chuyện với tư vấn viên")
        page.click("#earlier summary")
        expect(page.locator("#earlier-list")).to_contain_text("chào bạn")
        expect(page.locator("#earlier-list")).to_contain_text("Bấm nút: Có")
        expect(page.locator("#reply-text")).to_be_disabled()
        expect(page.locator("#reply-hint")).to_have_text("Nhận ca để trả lời trẻ.")
        # A counselor cannot close a waiting high case nobody accepted; the console says why.
        expect(page.locator("#close-form button[type=submit]")).to_be_disabled()
        expect(page.locator("#close-hint")).to_contain_text("hãy nhận ca trước khi đóng")
        _no_codes(page)
        _shot(page, "console-case.png")
    finally:
        page.context.close()


def test_close_and_handback_are_confirmed(console: tuple[str, object], chromium: Browser) -> None:
    url, app = console
    _seed_case(app, "702")
    _seed_case(app, "703")
    page = _page(chromium, url, "/console", "hoa@example.vn")
    try:
        expect(page.locator("#queue li")).to_have_count(2)
        page.locator("#queue li").first.click()
        page.click("#accept")
        expect(page.locator("#case-status")).to_have_text("Đang tư vấn")
        expect(page.locator("#reply-hint")).to_have_text("")
        expect(page.locator("#close-outcome")).to_have_value("")
        page.click("#close-form button[type=submit]")  # no outcome chosen: nothing is sent
        expect(page.locator("#confirm-dialog")).to_be_hidden()
        expect(page.locator("#case-status")).to_have_text("Đang tư vấn")

        page.select_option("#close-outcome", "referred_111")
        page.click("#close-form button[type=submit]")
        dialog = page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Đóng ca #")
        expect(dialog).to_contain_text("Đã chuyển tổng đài 111")
        expect(page.locator("#confirm-cancel")).to_be_focused()
        page.keyboard.press("Escape")  # cancelled with the keyboard: the case stays open
        expect(dialog).to_be_hidden()
        expect(page.locator("#case-status")).to_have_text("Đang tư vấn")

        page.click("#handback-form button[type=submit]")
        expect(dialog).to_contain_text("Trả ca #")
        expect(page.locator("#confirm-cancel")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(page.locator("#confirm-ok")).to_be_focused()
        page.keyboard.press("Enter")  # the confirm button, reached with the keyboard
        expect(page.locator("#case-status")).to_have_text("Trợ lý đang trò chuyện")

        # The other case: the outcome chosen for the first is not carried over.
        first_id = page.evaluate("state.caseId")
        page.locator(f'#queue li:not([data-case-id="{first_id}"])').click()
        expect(page.locator("#case-title")).not_to_have_text(f"Ca #{first_id}")
        expect(page.locator("#close-outcome")).to_have_value("")

        assert accessibility_problems(page) == []
    finally:
        page.context.close()


def test_supervisor_closes_an_unaccepted_urgent_case_with_a_reason(console: tuple[str, object],
                                                                    chromium: Browser) -> None:
    url, app = console
    _seed_case(app, "704")
    page = _page(chromium, url, "/console", "minh@example.vn")
    try:
        page.locator("#queue li").first.click()
        expect(page.locator("#close-hint")).to_contain_text("cần ghi lý do")
        page.select_option("#close-outcome", "referred_111")
        page.click("#close-form button[type=submit]")
        expect(page.locator("#confirm-dialog")).to_contain_text("chưa có ai nhận")
        expect(page.locator("#confirm-reason")).to_be_focused()
        page.click("#confirm-ok")
        expect(page.locator("#confirm-error")).to_have_text("Hãy ghi lý do.")
        page.fill("#confirm-reason", "Trẻ đã gọi 111, tổng đài đang hỗ trợ")
        page.click("#confirm-ok")
        expect(page.locator("#case-status")).to_have_text("Đã đóng — Đã chuyển tổng đài 111")
        expect(page.locator("#notes")).to_contain_text("Lý do đóng ca chưa ai nhận: Trẻ đã gọi 111")
    finally:
        page.context.close()


def test_each_console_shows_other_roles_where_to_go(console: tuple[str, object], chromium: Browser) -> None:
    url, _ = console
    page = _page(chromium, url, "/content", "hoa@example.vn")
    try:
        expect(page.locator("#role-view")).to_be_visible()
        expect(page.locator("#role-view")).to_contain_text("dành cho cán bộ chiến dịch")
        expect(page.locator("#role-view a")).to_have_attribute("href", "/console")
        expect(page.locator("#app")).to_be_hidden()
    finally:
        page.context.close()
    page = _page(chromium, url, "/console", "nga@example.vn")
    try:
        expect(page.locator("#role-view")).to_be_visible()
        expect(page.locator("#role-view")).to_contain_text("Cán bộ chiến dịch")
        expect(page.locator("#role-link")).to_have_attribute("href", "/content")
        expect(page.locator("#app-view")).to_be_hidden()
    finally:
        page.context.close()


def test_case_record_panel_stays_reachable_while_it_loads(console: tuple[str, object], chromium: Browser) -> None:
    """While a case's record loads, its fields are disabled; the panel scrolls on its own, so it must
    take the keyboard focus itself or a keyboard user cannot scroll it (axe: scrollable-region-focusable)."""
    url, app = console
    _seed_case(app, "705")
    page = _page(chromium, url, "/console", "hoa@example.vn")
    held: list[Route] = []
    page.route("**/api/v1/cases/*/record", lambda route: held.append(route) if route.request.method == "GET"
               else route.continue_())
    try:
        page.locator("#queue li").first.click()
        expect(page.locator("#cw-record-status")).to_have_text("Đang tải hồ sơ…")
        expect(page.locator("#cw-referral-form button[type=submit]")).to_be_disabled()
        assert page.evaluate("(el => el.scrollHeight > el.clientHeight)(document.getElementById('casework'))")
        assert accessibility_problems(page, "#casework") == []
        page.locator("#casework").focus()
        expect(page.locator("#casework")).to_be_focused()
        page.keyboard.press("PageDown")
        page.wait_for_function("document.getElementById('casework').scrollTop > 0")  # scrolling may be smooth
        assert len(held) == 1
        held.pop().continue_()
        expect(page.locator("#cw-record-status")).not_to_have_text("Đang tải hồ sơ…")
        expect(page.locator("#cw-referral-form button[type=submit]")).to_be_enabled()
    finally:
        page.context.close()
