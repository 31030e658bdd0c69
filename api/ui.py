"""Serving the three browser UIs (web chat, counselor console, content console) the same way.

    router = ui_router("/console", STATIC_DIR, assets_path="/console/assets",
                       assets={"console.js": "text/javascript", ...}, headers=SECURITY_HEADERS)

A UI is one folder: its page (index.html) at `page_path`, and the named assets beside it at
`{assets_path}/{name}`; any other name is a 404. Nothing else in the folder is served.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"


def ui_router(page_path: str, directory: Path, *, assets_path: str, assets: Mapping[str, str],
              page_headers: Mapping[str, str] | None = None, asset_headers: Mapping[str, str] | None = None,
              redirect_slash: bool = False) -> APIRouter:
    """Routes for one UI: the page, its assets (name → media type) and, if asked, `page_path/` → page."""
    router = APIRouter(include_in_schema=False)
    page_headers = dict(page_headers or {})
    asset_headers = dict(asset_headers if asset_headers is not None else page_headers)

    @router.get(page_path)
    async def page() -> FileResponse:
        return FileResponse(directory / "index.html", media_type=HTML, headers=page_headers)

    if redirect_slash:
        @router.get(page_path + "/")
        async def page_slash() -> RedirectResponse:
            return RedirectResponse(page_path)

    @router.get(assets_path + "/{name}")
    async def asset(name: str) -> FileResponse:
        if name not in assets:
            raise HTTPException(404, detail="Không tìm thấy.")
        return FileResponse(directory / name, media_type=assets[name], headers=asset_headers)

    return router
