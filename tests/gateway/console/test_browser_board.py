"""The supervisor board and the printable monthly report in real Chromium (1366x900): breaches
highlighted, a new case arriving live, reassigning from the board, the report's charts with small
counts suppressed. The screenshots in docs/screenshots come from this test (saved there only with
UPDATE_DOC_SCREENSHOTS=1: tests/gateway/screenshots.py)."""
from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.cases.models import Case
from api.db.base import utcnow
from api.main import create_app
from api.settings import Settings
from tests.gateway.browser import submit_login
from tests.gateway.cases.casework import disclose, staff, update_case
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import LiveGateway
from tests.gateway.reports.seed import seed_october
from tests.gateway.screenshots import doc_screenshot
from tests.gateway.staff import staff_settings
from tests.gateway.waiting import eventually_blocking

PASSWORD = "x" * 12  # the password of accounts made by casework.staff
VIEWPORT = {"width": 1366, "height": 900}


def _sign_in(page: Page, email: str) -> None:
    submit_login(page, email, PASSWORD)


def test_board_and_monthly_report(settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa,
                                  chromium: Browser) -> None:
    gateway = LiveGateway(create_app(staff_settings(settings))).start()
    try:
        app = gateway.app
        lan_id, lan = staff(app, "lan@example.vn", "counselor", "Chị Lan")
        staff(app, "minh@example.vn", "counselor", "Anh Minh")
        staff(app, "hoa@example.vn", "supervisor", "Chị Hoa")
        late = disclose(app, "zalo", "1", "a", "…", "imminent", "disclose_physical_abuse")
        in_time = disclose(app, "telegram", "2", "b", "…", "high", "disclose_sexual_abuse")
        held = disclose(app, "telegram", "3", "c", "…", "high", "disclose_online_abuse")
        update_case(app, late, waiting_since=utcnow() - timedelta(minutes=3))
        update_case(app, in_time, waiting_since=utcnow() - timedelta(minutes=1))
        with httpx.Client(base_url=gateway.url, timeout=10) as http:
            assert http.post(f"/api/v1/cases/{held}/accept", headers=lan).status_code == 200
            seed_october(app)

            page = chromium.new_page(viewport=VIEWPORT)
            page.goto(f"{gateway.url}/console/board")
            expect(page.locator("html")).to_have_attribute("lang", "vi")
            _sign_in(page, "hoa@example.vn")
            breach = page.locator(f"#waiting tr[data-case-id='{late}']")
            expect(breach).to_have_class("breach")
            expect(breach).to_contain_text("QUÁ HẠN")
            expect(page.locator(f"#waiting tr[data-case-id='{in_time}']")).not_to_have_class("breach")
            expect(page.locator("#t-breaches")).to_have_text("1")
            expect(page.locator("#staff")).to_contain_text("Chị Lan")
            expect(page.locator("#active")).to_contain_text(f"#{held}")
            expect(page.locator("#live")).to_have_class("live on")
            assert page.context.cookies() == []

            # A child writes now: the board shows the new case without a reload.
            update = text_update(5550009, "cứu em với, có người lạ đang theo em")
            assert http.post("/webhooks/telegram", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}).status_code == 200
            expect(page.locator("#waiting tbody tr")).to_have_count(3, timeout=15_000)
            expect(page.locator("#t-waiting")).to_have_text("3")
            doc_screenshot(page, "supervisor-board.png")

            row = page.locator(f"#waiting tr[data-case-id='{in_time}']")
            row.locator("select").select_option(str(lan_id))
            row.locator("button").click()
            expect(page.locator("#board-message")).to_contain_text(f"Đã giao ca #{in_time}")
            expect(page.locator(f"#waiting tr[data-case-id='{in_time}']")).to_have_count(0)

            def assigned() -> bool:
                with app.state.context.database.session() as session:
                    return session.scalar(select(Case.assigned_user_id).where(Case.id == in_time)) == lan_id

            eventually_blocking(assigned, what="the case given to Lan")

            page.goto(f"{gateway.url}/reports/monthly?month=2026-10")
            expect(page.locator("#report-title")).to_have_text("Báo cáo tháng 10/2026")
            expect(page.locator("#headline")).to_contain_text("15")
            level_chart = page.locator("#by-level svg")
            expect(level_chart).to_contain_text("<5")
            expect(level_chart).to_contain_text("ẩn")
            expect(level_chart.locator("rect")).to_have_count(3)
            expect(page.locator("#first-reply")).to_contain_text("3.0 phút")
            expect(page.locator("#referrals-recipient svg")).to_contain_text("Tổng đài quốc gia bảo vệ trẻ em 111")
            expect(page.locator("#referrals-status svg")).to_contain_text("Đã xác nhận")
            expect(page.locator("#by-commune svg")).to_contain_text("Chưa rõ (chưa ghi trong hồ sơ ca)")
            expect(page.locator("#by-age svg")).to_contain_text("11–14 tuổi")
            doc_screenshot(page, "monthly-report.png", full_page=True)
            page.fill("#month", "2026-13")  # a month input never takes it: the report stays
            page.close()
    finally:
        gateway.stop()
