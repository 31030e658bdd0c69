"""The counselor console never loses a child's message from the open transcript: a message that
arrives as a live event while the case is being fetched again stays when the older copy is drawn."""
from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Route, expect

from api.settings import Settings
from tests.gateway.browser import submit_login
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import add_staff, admin_headers, staff_settings
from tests.gateway.waiting import eventually_blocking

CHILD = 5550031
LATE_WORDS = "em trốn vào nhà vệ sinh rồi"


def _send(http: httpx.Client, text: str) -> None:
    response = http.post("/webhooks/telegram", json=text_update(CHILD, text),
                         headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert response.status_code == 200


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/console")
    submit_login(page, "hoa@example.vn")
    expect(page.locator("#live")).to_have_class("live on")


def test_a_message_arriving_during_a_refetch_stays_in_the_transcript(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, chromium: Browser) -> None:
    with live_gateway(staff_settings(settings)) as gateway, httpx.Client(base_url=gateway.url, timeout=10) as http:
        add_staff(http, admin_headers(http), (("hoa@example.vn", "counselor", "Chị Hoa"),))
        page = chromium.new_page()
        try:
            _sign_in(page, gateway.url)
            _send(http, "cứu em với, có người lạ đang theo em")
            page.locator("#queue li").first.click()
            page.click("#accept")
            expect(page.locator("#case-status")).to_have_text("Đang tư vấn")
            eventually_blocking(lambda: bool(fake_rasa.paused), what="rasa paused")
            case_id = int(page.evaluate("state.caseId"))

            # The console fetches the case again (as after a reply); its answer, taken now, is held
            # back until the child's next message has come as a live event.
            held: dict[str, Any] = {}

            def hold(route: Route) -> None:
                if "route" in held:  # later fetches (the header's refresh) go through
                    route.continue_()
                    return
                held["response"], held["route"] = route.fetch(), route

            page.route(f"**/api/v1/cases/{case_id}", hold)
            page.evaluate(f"() => {{ openCase({case_id}); }}")
            while "route" not in held:
                page.wait_for_timeout(20)
            _send(http, LATE_WORDS)
            expect(page.locator("#transcript")).to_contain_text(LATE_WORDS, timeout=15_000)

            page.evaluate("document.getElementById('transcript').append(Object.assign("
                          "document.createElement('li'), {id: 'drawn-before'}))")
            held["route"].fulfill(response=held["response"])
            expect(page.locator("#drawn-before")).to_have_count(0)  # the held copy has been drawn
            expect(page.locator("#transcript")).to_contain_text(LATE_WORDS)
            expect(page.locator("#transcript li", has_text=LATE_WORDS)).to_have_count(1)
            page.unroute(f"**/api/v1/cases/{case_id}")
        finally:
            page.close()
