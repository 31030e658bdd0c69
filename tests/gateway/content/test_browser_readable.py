"""The content console as a campaign officer sees it, in real Chromium at 1366x900: titles instead of
codes, the button editor and the phone preview, confirmations before anything that cannot be undone,
quiz editing, the one-entry directory form, Vietnamese labels at a readable size, and no serious or
critical accessibility violation (axe-core). Screenshots go to build/test-artifacts/; the one docs/
shows is saved there only with UPDATE_DOC_SCREENSHOTS=1 (tests/gateway/screenshots.py)."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from api.content.models import InboxItem, MessageStat, Subscriber
from api.messaging.models import Conversation
from tests.gateway.browser import accessibility_problems, sign_in_to_content
from tests.gateway.fakes.server import ServerThread
from tests.gateway.screenshots import doc_screenshot
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PASSWORD = "x" * 12  # what staff_token sets
ROOT = Path(__file__).parents[3]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "build" / "test-artifacts"))
INTERNAL_CODE = re.compile(r"disclose_|utter_|lex:|/affirm|EXTERNAL_|ask_[a-z]|nlu_fallback|\b0\.\d{2,}")


@pytest.fixture
def page(live: tuple[ServerThread, FastAPI], chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900},
                                  bypass_csp=True)  # axe-core is injected as an inline script
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    outside: list[str] = []
    tab.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: (outside.append(route.request.url),
                                                                      route.abort()))
    try:
        yield tab
    finally:
        context.close()
    assert outside == []
    assert errors == []  # no script error on any screen


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _no_codes(page: Page, selector: str) -> None:
    shown = page.locator(selector).inner_text()
    assert not INTERNAL_CODE.search(shown), INTERNAL_CODE.findall(shown)


def _seed(app: FastAPI) -> None:
    """Three questions in the inbox, one Telegram subscriber and today's topic counts."""
    context = app.state.context
    today = datetime.now(ZoneInfo(context.settings.timezone)).date().isoformat()
    with context.database.transaction() as session:
        for topic, messages in (("ask_body_safety", 3), ("EXTERNAL_checkin", 2), ("faq/ask_online_safety", 1)):
            session.add(MessageStat(day=today, channel="telegram", topic=topic, risk_level="none",
                                    messages=messages, fallbacks=0))
        conversation = Conversation(channel="telegram", sender_id="telegram:" + "b" * 32,
                                    platform_user_id_encrypted=context.crypto.encrypt("1"))
        session.add(conversation)
        session.flush()
        session.add(Subscriber(conversation_id=conversation.id, channel="telegram"))
        for intent, confidence in (("ask_body_safety", 0.229), ("disclose_bullying", 0.41), (None, None)):
            session.add(InboxItem(channel="telegram", sender_id=conversation.sender_id,
                                  text_encrypted=context.crypto.encrypt("ở gần nhà mình có ai giúp không"),
                                  risk_level="none", intent=intent, confidence=confidence))


def test_responses_editor_reads_as_words(page: Page, live: tuple[ServerThread, FastAPI]) -> None:
    gateway, app = live
    staff_token(app, "lan@example.org")
    sign_in_to_content(page, gateway.url, "lan@example.org", PASSWORD)
    expect(page.locator("#response-list li[data-name=utter_greet]")).to_contain_text("Lời chào")
    expect(page.locator("#response-list")).to_contain_text("Tổng đài 111")
    _no_codes(page, "#response-list")
    badge = page.locator("#response-list li[data-name=utter_disclosure_sexual_abuse] .safety-badge")
    expect(badge).to_have_text("Cần số 111 · 2 người duyệt")
    assert "người thứ hai duyệt" in (badge.get_attribute("title") or "")

    page.get_by_label("Tìm câu trả lời").fill("tong dai")
    expect(page.locator("#response-list li")).to_have_count(1)
    page.get_by_label("Tìm câu trả lời").fill("")

    page.locator("#response-list li[data-name=utter_disclosure_sexual_abuse] .item").click()
    expect(page.locator("#editor-title")).to_have_text("Khi bạn kể bị xâm hại tình dục")
    row = page.locator("#variations .button-row").first
    expect(row.locator(".b-title")).to_have_value("Nói chuyện với tư vấn viên")
    expect(row.locator(".b-action option:checked")).to_have_text("Xin nói chuyện với tư vấn viên")
    page.get_by_role("button", name="+ Thêm nút").first.click()
    new_row = page.locator("#variations .button-row").nth(1)
    new_row.get_by_label("Chữ trên nút").fill("Số 111 là gì?")
    new_row.get_by_label("Khi bấm nút").select_option(label="Trả lời: Tổng đài 111")
    new_row.get_by_role("button", name="Đưa nút lên").click()
    expect(page.locator("#variations .button-row .b-title").first).to_have_value("Số 111 là gì?")

    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator("#preview .phone-telegram .inline-keyboard .chip")).to_have_text(
        ["Số 111 là gì?", "Nói chuyện với tư vấn viên"])
    expect(page.locator("#preview .phone-web .quick-replies .chip")).to_have_count(2)
    zalo = page.locator("#preview .phone-zalo .bubble")
    expect(zalo).to_contain_text("1. Số 111 là gì?\n2. Nói chuyện với tư vấn viên\n(Bạn nhắn số để chọn nhé.)")
    _no_codes(page, "#response-editor")
    _shot(page, "content-editor")
    doc_screenshot(page, "content-editor.png", full_page=True)

    # Saved from the editor, the buttons keep their order and actions.
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    expect(page.locator("#notice")).to_contain_text("chờ người thứ hai duyệt")
    assert " / " not in page.locator("#notice").inner_text()
    assert accessibility_problems(page) == []


def test_inbox_dashboard_and_confirmations(page: Page, live: tuple[ServerThread, FastAPI]) -> None:
    gateway, app = live
    staff_token(app, "lan@example.org")
    _seed(app)
    sign_in_to_content(page, gateway.url, "lan@example.org", PASSWORD)

    page.get_by_role("button", name="Câu hỏi chưa trả lời").click()
    expect(page.locator("#inbox tbody tr")).to_have_count(3)
    expect(page.locator("#inbox")).to_contain_text("An toàn cơ thể (rất không chắc)")
    expect(page.locator("#inbox")).to_contain_text("Kể bị bắt nạt (không chắc)")
    expect(page.locator("#inbox")).to_contain_text("Không có dấu hiệu nguy cơ")
    _no_codes(page, "#tab-inbox")
    page.locator("#inbox tbody tr").first.get_by_label("Chủ đề", exact=True).select_option(
        label="Tìm nơi giúp đỡ gần mình")
    page.locator("#inbox tbody tr").first.get_by_role("button", name="Gán").click()
    expect(page.locator("#notice")).to_have_text("Đã xử lý.")
    expect(page.locator("#inbox tbody tr")).to_have_count(2)
    # Retraining asks first; going back starts nothing.
    page.get_by_role("button", name="Huấn luyện lại").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Huấn luyện lại mô hình")
    dialog.get_by_role("button", name="Quay lại").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#retrain-status")).to_be_empty()
    _shot(page, "content-inbox")

    # Sending now says how many will get it; with nobody on the channel it refuses.
    page.get_by_role("button", name="Gửi tin").click()
    page.get_by_label("Tiêu đề", exact=True).fill("Tháng hành động")
    page.get_by_label("Nội dung", exact=True).fill("Cơ thể bạn là của bạn. Cần giúp, gọi 111.")
    page.get_by_role("button", name="Tạo tin").click()
    expect(page.locator("#broadcasts tbody tr").first).to_contain_text("Nháp")
    page.locator("#broadcasts tbody tr").first.get_by_role("button", name="Gửi ngay").click()
    expect(dialog).to_contain_text("khoảng 1 người đăng ký trên Telegram")
    dialog.get_by_role("button", name="Quay lại").click()
    expect(page.locator("#broadcasts tbody tr").first).to_contain_text("Nháp")
    page.get_by_label("Tiêu đề", exact=True).fill("Cho Zalo")
    page.get_by_label("Nội dung", exact=True).fill("Cần giúp, gọi 111.")
    page.locator("input[name=b-channel][value=telegram]").uncheck()
    page.locator("input[name=b-channel][value=zalo]").check()
    page.get_by_role("button", name="Tạo tin").click()
    expect(page.locator("#broadcasts tbody tr")).to_have_count(2)
    page.locator("#broadcasts tbody tr").first.get_by_role("button", name="Gửi ngay").click()
    expect(dialog).to_contain_text("Chưa có ai đăng ký nhận tin trên Zalo")
    expect(dialog.get_by_role("button")).to_have_count(1)
    dialog.get_by_role("button", name="Quay lại").click()

    # The dashboard: Vietnamese labels, 14 px or more.
    page.get_by_role("button", name="Số liệu").click()
    expect(page.locator("#d-cards .card")).to_have_count(3)
    expect(page.locator("#d-topics")).to_contain_text("An toàn cơ thể")
    expect(page.locator("#d-topics")).to_contain_text("An toàn trên mạng")
    expect(page.locator("#d-conversations")).to_be_visible()
    _no_codes(page, "#tab-dashboard")
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('#tab-dashboard *'))
        .filter(n => n.childElementCount === 0 && n.textContent.trim())
        .map(n => parseFloat(getComputedStyle(n).fontSize))""")
    assert sizes and min(sizes) >= 14, sizes
    _shot(page, "content-dashboard")


def test_directory_and_quiz_forms(page: Page, live: tuple[ServerThread, FastAPI]) -> None:
    gateway, app = live
    staff_token(app, "lan@example.org")
    sign_in_to_content(page, gateway.url, "lan@example.org", PASSWORD)

    page.get_by_role("button", name="Danh bạ hỗ trợ").click()
    expect(page.locator("#directory tbody tr")).to_have_count(3)
    page.get_by_role("button", name="+ Thêm một nơi").click()
    page.get_by_label("Tên nơi giúp đỡ").fill("Công an phường Tam Kỳ")
    page.locator("#e-kind").select_option(label="Công an")
    page.get_by_label("Tỉnh/thành").fill("Đà Nẵng")
    page.get_by_label("Xã/phường (tên mới từ 1/7/2025)").fill("tam ky")
    page.get_by_label("Điện thoại").fill("0235 1")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.locator("#directory tbody tr")).to_have_count(4)
    local = page.locator("#directory tbody tr", has_text="Công an phường Tam Kỳ")
    expect(local).to_contain_text("Phường Tam Kỳ")
    local.get_by_role("button", name="Sửa").click()
    page.get_by_label("Điện thoại").fill("0235 2")
    page.get_by_role("button", name="Lưu", exact=True).click()
    expect(local).to_contain_text("0235 2")
    expect(page.locator("#directory tbody tr")).to_have_count(4)
    local.get_by_role("button", name="Xoá").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Xoá \"Công an phường Tam Kỳ\"")
    dialog.get_by_role("button", name="Quay lại").click()
    expect(page.locator("#directory tbody tr")).to_have_count(4)
    local.get_by_role("button", name="Xoá").click()
    dialog.get_by_role("button", name="Xoá").click()
    expect(page.locator("#notice")).to_have_text("Đã xoá \"Công an phường Tam Kỳ\".")
    expect(page.locator("#directory tbody tr")).to_have_count(3)
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="Đố vui").click()
    page.get_by_label("Tên bộ đố vui").fill("Vùng riêng tư")
    page.locator("#questions .q-text").first.fill("Vùng riêng tư là gì?")
    page.locator("#questions .q-options").first.fill("Chỗ đồ lót che\nCái tay")
    page.locator("#questions .q-explain").first.fill("Vùng riêng tư là chỗ đồ lót che, và cả miệng.")
    page.get_by_role("button", name="Lưu đố vui").click()
    expect(page.locator("#notice")).to_contain_text("Đã lưu đố vui")
    expect(page.get_by_label("Tên bộ đố vui")).to_have_value("")
    expect(page.locator("#questions .q-text")).to_have_value("")
    page.locator("#quiz-list li").first.get_by_role("button", name="Sửa").click()
    expect(page.get_by_label("Tên bộ đố vui")).to_have_value("Vùng riêng tư")
    page.get_by_label("Tên bộ đố vui").fill("Vùng riêng tư của bạn")
    page.get_by_role("button", name="Lưu đố vui").click()
    expect(page.locator("#quiz-list li")).to_have_count(1)
    expect(page.locator("#quiz-list li").first).to_contain_text("Vùng riêng tư của bạn")
    expect(page.get_by_label("Tên bộ đố vui")).to_have_value("")
