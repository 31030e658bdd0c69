"""The counselor console: its page and assets (api/console/static/) with strict security headers."""
from __future__ import annotations

from pathlib import Path

from api.ui import CSS, JAVASCRIPT, ui_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = ui_router("/console", STATIC_DIR, assets_path="/console/assets",
                   assets={"console.js": JAVASCRIPT, "console.css": CSS, "casework.js": JAVASCRIPT,
                           "casework.css": CSS, "casework-print.css": CSS, "casework-admin.js": JAVASCRIPT,
                           "casework-admin.css": CSS, "privacy.js": JAVASCRIPT, "privacy.css": CSS,
                           "event-stream.js": JAVASCRIPT},
                 page_headers=SECURITY_HEADERS)
