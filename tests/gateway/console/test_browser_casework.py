"""The casework beside the chat in real Chromium (1366x900): a counselor fills the case record
(autosaved), inserts a canned reply and edits it before sending, and refers the case. The
screenshot of the case record in docs/ is taken here (saved there only with UPDATE_DOC_SCREENSHOTS=1:
tests/gateway/screenshots.py)."""
from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, Request, expect

from api.settings import Settings
from tests.gateway.browser import submit_login
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import live_gateway
from tests.gateway.screenshots import doc_screenshot
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, staff_settings
from tests.gateway.waiting import eventually_blocking

CHILD = 5550077


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/console")
    submit_login(page, "mai@example.vn")
    expect(page.locator("#me-name")).to_contain_text("Chị Mai", timeout=15_000)


def _record_saves_in_flight(page: Page) -> dict[str, int]:
    """The most record saves (PUT …/record) in flight at once: autosave sends one at a time, or an
    older save could land after a newer one."""
    counts = {"now": 0, "most": 0}

    def is_save(request: Request) -> bool:
        return request.method == "PUT" and request.url.endswith("/record")

    def started(request: Request) -> None:
        if is_save(request):
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])

    def ended(request: Request) -> None:
        if is_save(request):
            counts["now"] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    return counts


def _fill_record(page: Page) -> None:
    saves = _record_saves_in_flight(page)
    # 300 ms on every request: each save is still on its way while the next fields change.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 300,
                                                      "downloadThroughput": -1, "uploadThroughput": -1})
    record = page.locator("#cw-record")
    record.locator("select[name=age_group]").select_option("11_14")
    record.locator("select[name=gender]").select_option("girl")
    record.locator("select[name=province]").select_option("Đà Nẵng")
    record.locator("input[name=commune]").fill("Phường Tam Kỳ")
    record.locator("input[name=harm][value=disclose_physical_abuse]").check()
    record.locator("input[name=harm][value='physical_abuse.beating']").check()
    record.locator("select[name=relationship]").select_option("step_parent")
    record.locator("input[name=circumstances][value=out_of_school]").check()
    record.locator("select[name=safety]").select_option("at_risk")
    record.locator("input[name=actions][value=gave_111]").check()
    record.locator("select[name=consent]").select_option("yes")
    expect(page.locator("#cw-record-status")).to_contain_text("Đã lưu lúc", timeout=10_000)
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                      "downloadThroughput": -1, "uploadThroughput": -1})
    assert saves["most"] == 1, f"{saves['most']} record saves were in flight at once"


def test_counselor_fills_record_inserts_canned_reply_and_refers(settings: Settings, fake_telegram: FakeTelegram,
                                                                fake_rasa: FakeRasa, chromium: Browser) -> None:
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        admin = {"Authorization": "Bearer " + http.post("/api/v1/auth/login", json={
            "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["access_token"]}
        assert http.post("/api/v1/users", headers=admin, json={
            "email": "mai@example.vn", "password": STAFF_PASSWORD, "role": "counselor",
            "display_name": "Chị Mai"}).status_code == 201
        assert http.post("/webhooks/telegram", json=text_update(CHILD, "cứu em với, bố dượng đánh em chảy máu"),
                         headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}).status_code == 200

        page = chromium.new_page(viewport={"width": 1366, "height": 900})
        try:
            _sign_in(page, gateway.url)
            page.locator("#queue li").first.click(timeout=15_000)
            page.click("#accept")
            expect(page.locator("#case-status")).to_have_text("Đang tư vấn")
            expect(page.locator("#casework")).to_be_visible()
            expect(page.locator("#cw-record-status")).to_contain_text("Chưa có hồ sơ")
            _fill_record(page)
            case_id = int(page.evaluate("state.caseId"))
            record = http.get(f"/api/v1/cases/{case_id}/record", headers=admin).json()
            assert record["values"]["commune"] == "Phường Tam Kỳ" and record["values"]["safety"] == "at_risk"
            assert record["values"]["harm"] == ["disclose_physical_abuse", "physical_abuse.beating"]

            # A canned reply goes into the reply box, is edited there, then sent.
            page.locator("#cw-canned").select_option(label="Gọi 111 thế nào")
            page.click("#cw-canned-insert")
            expect(page.locator("#reply-text")).to_have_value(
                "Bạn bấm số 111 trên bất kỳ điện thoại nào, không cần thẻ hay tiền: gọi miễn phí, cả ngày lẫn đêm. "
                "Bạn chỉ cần nói \"cháu cần giúp đỡ\" và kể những gì bạn muốn kể. Các cô chú giữ bí mật cho bạn.")
            page.locator("#reply-text").press("End")
            page.locator("#reply-text").type(" Chị Mai vẫn ở đây với em.")
            page.click("#reply-form button[type=submit]")
            # On Telegram the counselor's name comes first ("Tư vấn viên Mai: ...").
            eventually_blocking(lambda: any("Bạn bấm số 111" in m["text"] and m["text"].endswith(
                "Chị Mai vẫn ở đây với em.") for m in fake_telegram.sent(CHILD)), what="canned reply delivered")

            form = page.locator("#cw-referral-form")
            form.locator("select[name=recipient]").select_option("commune")
            form.locator("textarea[name=reason]").fill("Trẻ bị bố dượng đánh, cần cán bộ đến thăm nhà")
            form.locator("textarea[name=shared]").fill("Trẻ 11–14 tuổi ở Phường Tam Kỳ; đã đồng ý chuyển tuyến")
            form.locator("button[type=submit]").click()
            referral = page.locator("#cw-referrals li").first
            expect(referral).to_contain_text("Cán bộ bảo vệ trẻ em cấp xã, phường — Phường Tam Kỳ, Đà Nẵng")
            expect(referral).to_contain_text("Hẹn theo dõi")
            # The printable form opens from the bearer-protected API, styled by the print stylesheet.
            with page.expect_popup() as popup_info:
                referral.get_by_role("button", name="In phiếu").click()
            form_page = popup_info.value
            expect(form_page.locator("h1")).to_have_text("PHIẾU CHUYỂN TUYẾN HỖ TRỢ TRẺ EM")
            expect(form_page.locator("table.fields")).to_contain_text(f"CA-{case_id:06d}")
            assert "Times New Roman" in form_page.evaluate("getComputedStyle(document.body).fontFamily")
            form_page.close()
            referral.locator("select").select_option("acknowledged")
            eventually_blocking(lambda: http.get(f"/api/v1/referrals?case_id={case_id}", headers=admin)
                                .json()[0]["status"] == "acknowledged", what="referral acknowledged")

            page.evaluate("document.getElementById('casework').scrollTop = 0; window.scrollTo(0, 0)")
            doc_screenshot(page, "case-record.png")

            # After a reload the record is read back as saved.
            page.reload()
            expect(page.locator("#cw-record select[name=consent]")).to_have_value("yes", timeout=10_000)
            expect(page.locator("#cw-record input[name=commune]")).to_have_value("Phường Tam Kỳ")
        finally:
            page.close()
