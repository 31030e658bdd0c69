"""Two-factor sign-in in real Chromium (1366x900): a counselor enrols by QR code at the first
login, saves the recovery codes, and signs in again with a code from the authenticator (pyotp);
the content console still signs campaign staff in with a password alone."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from playwright.sync_api import Browser, Page, expect

from api.auth.models import User
from api.auth.passwords import hash_password
from api.db.session import Database
from api.settings import Settings
from tests.gateway.browser import submit_login
from tests.gateway.live import live_gateway
from tests.gateway.staff import STAFF_PASSWORD, staff_settings

VIEWPORT = {"width": 1366, "height": 900}


def _account(settings: Settings, email: str, role: str, name: str) -> None:
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            session.add(User(email=email, display_name=name, role=role, password_hash=hash_password(STAFF_PASSWORD)))
    finally:
        database.dispose()


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    submit_login(page, email)


def test_counselor_enrols_then_signs_in_with_a_code(settings: Settings, chromium: Browser) -> None:
    settings = staff_settings(settings, two_factor_required=True)
    with live_gateway(settings) as gateway:
        _account(settings, "hoa@example.vn", "counselor", "Chị Hoa")
        _account(settings, "campaign@example.vn", "campaign_staff", "Anh Nam")
        page = chromium.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            _sign_in(page, f"{gateway.url}/console", "hoa@example.vn")
            expect(page.locator("#two-factor-qr")).to_be_visible()
            expect(page.locator("#login-form")).to_be_hidden()
            assert page.evaluate("sessionStorage.getItem('console.session')") is None  # no session yet
            totp = pyotp.TOTP(page.locator("#two-factor-secret").inner_text().strip())
            page.fill("#two-factor-code", "000000")
            page.click("#two-factor-form button[type=submit]")
            expect(page.locator("#two-factor-error")).to_contain_text("không đúng", timeout=10_000)
            page.fill("#two-factor-code", totp.now())
            page.click("#two-factor-form button[type=submit]")
            # Ten argon2 hashes on a loaded 2-core machine: give them time.
            expect(page.locator("#recovery-codes li")).to_have_count(10, timeout=20_000)
            page.click("#recovery-saved")
            expect(page.locator("#me-name")).to_contain_text("Chị Hoa")
            expect(page.locator("#two-factor")).to_have_count(0)

            page.click("#logout")
            _sign_in(page, f"{gateway.url}/console", "hoa@example.vn")
            expect(page.locator("#two-factor-code")).to_be_visible()
            expect(page.locator("#two-factor-qr")).to_have_count(0)  # the secret is never shown again
            page.fill("#two-factor-code", totp.at(datetime.now(UTC) + timedelta(seconds=30)))
            page.click("#two-factor-form button[type=submit]")
            expect(page.locator("#me-name")).to_contain_text("Chị Hoa")
            expect(page.locator("#queue-title")).to_be_visible()
            assert page.context.cookies() == []

            _sign_in(page, f"{gateway.url}/content", "campaign@example.vn")
            expect(page.locator("#who")).to_contain_text("campaign@example.vn")
            assert errors == []
        finally:
            page.close()
