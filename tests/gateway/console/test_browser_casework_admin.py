"""The console's screens for the casework's data in real Chromium (1366x900): an admin edits a case-record
field's option list and adds a field; a supervisor edits, adds and removes canned replies and reads the
111 rule's refusal in Vietnamese (nothing saved); a counselor sees neither screen; axe-core finds no
serious or critical issue on either screen."""
from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from api.settings import Settings
from tests.gateway.browser import accessibility_problems, submit_login
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.live import live_gateway
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, add_staff, admin_headers, staff_settings

VIEWPORT = {"width": 1366, "height": 900}


def _sign_in(chromium: Browser, url: str, email: str, password: str) -> Page:
    # The CSP is bypassed so that axe-core can be injected; the console's own CSP is tested elsewhere.
    page = chromium.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
    page.goto(f"{url}/console")
    submit_login(page, email, password)
    expect(page.locator("#whoami")).to_be_visible(timeout=15_000)
    return page


def _admin_edits_fields(page: Page, http: httpx.Client, admin: dict[str, str]) -> None:
    page.get_by_role("button", name="Trường hồ sơ ca").click()
    view = page.locator("#fields-view")
    expect(view).to_be_visible()
    view.get_by_label("Trường", exact=True).select_option("age_group")
    expect(view.get_by_label("Tên trường")).to_have_value("Nhóm tuổi của trẻ")
    expect(view.get_by_label("Loại")).to_be_disabled()  # a field's kind never changes
    view.get_by_label("Tên hiển thị của lựa chọn 5").fill("Chưa biết tuổi")
    view.get_by_role("button", name="+ Thêm lựa chọn").click()
    view.get_by_label("Mã của lựa chọn 6").fill("unknown")  # the same code twice: refused
    view.get_by_label("Tên hiển thị của lựa chọn 6").fill("Từ 18 tuổi")
    view.get_by_role("button", name="Lưu trường").click()
    expect(page.locator("#cwa-field-status")).to_have_text("Các lựa chọn của một trường không được trùng mã.")
    view.get_by_label("Mã của lựa chọn 6").fill("adult")
    view.get_by_role("button", name="Lưu trường").click()
    expect(page.locator("#cwa-field-status")).to_have_text('Đã lưu trường "Nhóm tuổi của trẻ".')
    schema = {f["key"]: f for f in http.get("/api/v1/case-record/schema", headers=admin).json()["fields"]}
    options = {o["value"]: o["label"] for o in schema["age_group"]["options"]}
    assert options["unknown"] == "Chưa biết tuổi" and options["adult"] == "Từ 18 tuổi" and len(options) == 6

    # A new field, after the others.
    view.get_by_label("Trường", exact=True).select_option(label="+ Thêm trường mới")
    view.get_by_label("Mã trường").fill("school_year")
    view.get_by_label("Tên trường").fill("Lớp đang học")
    view.get_by_label("Loại").select_option("choice")
    view.get_by_label("Thứ tự").fill("500")
    view.get_by_role("button", name="+ Thêm lựa chọn").click()
    view.get_by_label("Mã của lựa chọn 1").fill("primary")
    view.get_by_label("Tên hiển thị của lựa chọn 1").fill("Tiểu học")
    view.get_by_role("button", name="Lưu trường").click()
    expect(page.locator("#cwa-field-status")).to_have_text('Đã lưu trường "Lớp đang học".')
    schema = {f["key"]: f for f in http.get("/api/v1/case-record/schema", headers=admin).json()["fields"]}
    assert schema["school_year"]["kind"] == "choice"
    assert schema["school_year"]["options"] == [{"value": "primary", "label": "Tiểu học"}]
    assert accessibility_problems(page, "#fields-view") == []


def _supervisor_edits_canned(page: Page, http: httpx.Client, admin: dict[str, str]) -> None:
    expect(page.get_by_role("button", name="Trường hồ sơ ca")).to_be_hidden()
    page.get_by_role("button", name="Câu trả lời mẫu").click()
    view = page.locator("#canned-view")
    expect(view.locator("#cwa-canned-list")).to_contain_text("Gọi 111 thế nào")

    # The 111 rule: a safety-critical reply without 111 is refused, in Vietnamese, and nothing is saved.
    view.get_by_role("button", name='Sửa "Gọi 111 thế nào"').click()
    view.get_by_label("Nội dung").fill("Bạn cứ gọi cho người lớn bạn tin nhé.")
    view.get_by_role("button", name="Lưu", exact=True).click()
    error = page.locator("#cwa-canned-error")
    expect(error).to_contain_text("phải có số tổng đài 111")
    expect(error).not_to_contain_text("Safety-critical")
    expect(view.get_by_label("Nội dung")).to_have_value("Bạn cứ gọi cho người lớn bạn tin nhé.")  # kept
    stored = {r["title"]: r for r in http.get("/api/v1/canned-replies", headers=admin).json()}
    assert stored["Gọi 111 thế nào"]["text"].startswith("Bạn bấm số 111")
    view.get_by_role("button", name="Huỷ sửa").click()

    view.get_by_label("Tình huống").fill("Lắng nghe")
    view.get_by_label("Tiêu đề").fill("Cảm ơn bạn đã kể")
    view.get_by_label("Nội dung").fill("Cảm ơn bạn đã tin tưởng kể cho mình nghe.")
    view.get_by_role("button", name="Lưu", exact=True).click()
    expect(page.locator("#cwa-canned-status")).to_have_text('Đã lưu "Cảm ơn bạn đã kể".')
    expect(view.locator("#cwa-canned-list")).to_contain_text("Cảm ơn bạn đã tin tưởng kể cho mình nghe.")

    view.get_by_role("button", name='Xoá "Cảm ơn bạn đã kể"').click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text('Xoá câu trả lời mẫu "Cảm ơn bạn đã kể"?')
    dialog.get_by_role("button", name="Xoá").click()
    expect(page.locator("#cwa-canned-status")).to_have_text('Đã xoá "Cảm ơn bạn đã kể".')
    expect(view.locator("#cwa-canned-list")).not_to_contain_text("Cảm ơn bạn đã kể")
    titles = [r["title"] for r in http.get("/api/v1/canned-replies", headers=admin).json()]
    assert "Cảm ơn bạn đã kể" not in titles and "Gọi 111 thế nào" in titles
    assert accessibility_problems(page, "#canned-view") == []


def test_admin_edits_record_fields_and_supervisor_canned_replies(settings: Settings, fake_telegram: FakeTelegram,
                                                                 fake_rasa: FakeRasa, chromium: Browser) -> None:
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        admin = admin_headers(http)
        accounts = (("minh@example.vn", "supervisor", "Anh Minh"), ("hoa@example.vn", "counselor", "Chị Hoa"))
        add_staff(http, admin, accounts)
        errors: list[str] = []

        page = _sign_in(chromium, gateway.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            _admin_edits_fields(page, http, admin)
        finally:
            page.context.close()

        page = _sign_in(chromium, gateway.url, "minh@example.vn", STAFF_PASSWORD)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            _supervisor_edits_canned(page, http, admin)
        finally:
            page.context.close()

        page = _sign_in(chromium, gateway.url, "hoa@example.vn", STAFF_PASSWORD)
        try:
            expect(page.locator("#me-name")).to_contain_text("Chị Hoa")
            expect(page.get_by_role("button", name="Trường hồ sơ ca")).to_be_hidden()
            expect(page.get_by_role("button", name="Câu trả lời mẫu")).to_be_hidden()
        finally:
            page.context.close()
        assert errors == []
