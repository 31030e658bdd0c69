"""Security headers on pages, their static files, the API and webhooks; no-store on the API;
/docs and /openapi.json only when switched on; the web chat framed only by the allowed sites."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from api.main import create_app
from api.settings import Settings
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.asyncio

PAGES_AND_FILES = [
    "/chat", "/chat/webchat.js", "/chat/webchat.css",
    "/console", "/console/assets/console.js", "/console/assets/console.css",
    "/content", "/content/static/content.js", "/content/static/content.css",
]
CAMPAIGN_SITE = "https://campaign.example.org"


@asynccontextmanager
async def serving(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


def assert_protected(response: httpx.Response) -> None:
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


async def test_pages_static_files_api_and_webhooks_carry_the_security_headers(settings: Settings) -> None:
    async with serving(settings) as http:
        for path in PAGES_AND_FILES:
            response = await http.get(path)
            assert response.status_code == 200, path
            assert_protected(response)
        assert_protected(await http.get("/content/static/missing.js"))  # a 404 too
        assert_protected(await http.get("/health"))
        assert_protected(await http.post("/webhooks/telegram", content=b"{}"))


async def test_every_api_answer_is_no_store(settings: Settings) -> None:
    async with serving(settings) as http:
        admin = staff_token(http.app, "headers-admin@example.vn", role="admin")  # type: ignore[attr-defined]
        for response in [await http.get("/api/v1/auth/me"),  # 401
                         await http.get("/api/v1/auth/me", headers=admin),
                         await http.get("/api/v1/cases", headers=admin),
                         await http.get("/api/v1/users", headers=admin),
                         await http.get("/api/v1/cases/999", headers=admin)]:  # 404
            assert response.headers["cache-control"] == "no-store", response.request.url
            assert_protected(response)


async def test_only_the_allowed_sites_may_frame_the_web_chat(settings: Settings) -> None:
    async with serving(settings, chat_frame_ancestors=CAMPAIGN_SITE) as http:
        chat = await http.get("/chat")
        assert f"frame-ancestors {CAMPAIGN_SITE}" in chat.headers["content-security-policy"]
        assert "x-frame-options" not in chat.headers
        assert_protected(await http.get("/console"))
        assert_protected(await http.get("/content"))
    async with serving(settings) as http:
        assert_protected(await http.get("/chat"))


async def test_api_docs_are_off_outside_development_unless_switched_on(settings: Settings) -> None:
    assert settings.environment == "test"
    async with serving(settings) as http:
        assert (await http.get("/docs")).status_code == 404
        assert (await http.get("/openapi.json")).status_code == 404
    async with serving(settings, api_docs="on") as http:
        docs = await http.get("/docs")
        assert docs.status_code == 200
        assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
        assert (await http.get("/openapi.json")).status_code == 200
    assert Settings(_env_file=None, environment="development").api_docs_enabled  # type: ignore[call-arg]
    assert not Settings(_env_file=None, environment="production", api_docs="",  # type: ignore[call-arg]
                        id_hmac_secret="x", session_secret="y", data_encryption_key="z").api_docs_enabled
