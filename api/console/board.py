"""The supervisor board page (/console/board) and its assets, with the console's security headers."""
from __future__ import annotations

from pathlib import Path

from api.console.routes import SECURITY_HEADERS
from api.ui import CSS, JAVASCRIPT, ui_router

BOARD_DIR = Path(__file__).resolve().parent / "board_static"

router = ui_router("/console/board", BOARD_DIR, assets_path="/console/board/assets",
                   assets={"board.js": JAVASCRIPT, "board.css": CSS},
                   page_headers=SECURITY_HEADERS)
