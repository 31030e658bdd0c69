"""Where browser tests save the screenshots the docs show (docs/screenshots/).

A test run must leave the git tree clean, so the pictures in docs/ are replaced only on purpose:
`UPDATE_DOC_SCREENSHOTS=1 .venv/bin/python -m pytest tests/gateway/console …`. Otherwise they go to
$SCREENSHOT_DIR, by default build/screenshots/ (ignored by git), where they can still be looked at.
"""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"


def screenshot_dir() -> Path:
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        return DOC_SCREENSHOTS
    return Path(os.environ.get("SCREENSHOT_DIR") or REPO / "build" / "screenshots")


def doc_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save the page as docs/screenshots/`name` when asked to update the docs, else outside the tree."""
    directory = screenshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
