"""What the browser tests share: the staff login form and the axe-core accessibility check.

The pages' CSP refuses inline scripts, so a page checked with `accessibility_problems` must come
from a browser context made with `bypass_csp=True`; the CSP itself is tested elsewhere.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.gateway.staff import STAFF_PASSWORD

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def submit_login(page: Page, email: str, password: str = STAFF_PASSWORD) -> None:
    """Fill and send the staff login form of the page already open (console, content, board)."""
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")


def sign_in_to_content(page: Page, url: str, email: str, password: str) -> None:
    """Open the content console and sign in by the form's labels (which must name its fields)."""
    page.goto(f"{url}/content")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#who")).to_have_text(email)


def accessibility_problems(page: Page, selector: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or inside `selector`), one line each:
    the rule and the elements it found."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE} (make browser)")
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(
        "async (selector) => (await axe.run(selector || document)).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))", selector))
