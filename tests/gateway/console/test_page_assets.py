"""Every script and stylesheet a staff page names is served, with the right media type, including
the scripts two pages share (the event-stream reader, the two-factor sign-in)."""
from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.asyncio

STAFF_PAGES = ["/console", "/console/board", "/reports/monthly", "/content"]
ASSET = re.compile(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"')


@pytest.mark.parametrize("page_path", STAFF_PAGES)
async def test_every_asset_of_a_staff_page_is_served(client: httpx.AsyncClient, page_path: str) -> None:
    page = await client.get(page_path)
    assert page.status_code == 200
    assets = ASSET.findall(page.text)
    assert assets, page_path
    for path in assets:
        response = await client.get(path)
        assert response.status_code == 200, path
        kind = "text/javascript" if path.endswith(".js") else "text/css"
        assert response.headers["content-type"].startswith(kind), path


async def test_console_and_board_share_one_event_stream_reader(client: httpx.AsyncClient) -> None:
    for page_path in ("/console", "/console/board"):
        page = (await client.get(page_path)).text
        shared = page.index('src="/console/assets/event-stream.js"')
        own = page.index('src="/console/assets/console.js"' if page_path == "/console"
                         else 'src="/console/board/assets/board.js"')
        assert shared < own, page_path  # deferred scripts run in order: the reader is defined first
    script = (await client.get("/console/assets/event-stream.js")).text
    assert "async function readEventStream(response, onEvent)" in script
