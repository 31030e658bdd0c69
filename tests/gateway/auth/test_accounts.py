"""Staff login, bearer tokens, roles, user management and the audit log (SQLite and PostgreSQL)."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from api.auth.bootstrap import ensure_bootstrap_admin
from api.auth.models import AuditLog, User
from api.auth.tokens import issue_token
from api.main import create_app
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, staff_settings

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def staff_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(staff_settings(settings, access_token_minutes=5))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http


def _app(http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return http._transport.app  # type: ignore[attr-defined]


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


def _bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_bootstrap_admin_only_when_no_user_exists(staff_client: httpx.AsyncClient) -> None:
    app = _app(staff_client)
    ok = await _login(staff_client, ADMIN_EMAIL.upper(), ADMIN_PASSWORD)
    assert ok.status_code == 200 and ok.json()["user"]["role"] == "admin"
    other = app.state.context.settings.model_copy(update={"bootstrap_admin_email": "second@example.vn"})
    assert ensure_bootstrap_admin(app.state.context.database, other) is None
    with app.state.context.database.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        stored = session.scalar(select(User.password_hash))
        assert stored.startswith("$argon2") and ADMIN_PASSWORD not in stored


async def test_wrong_credentials_and_bad_input(staff_client: httpx.AsyncClient) -> None:
    assert (await _login(staff_client, ADMIN_EMAIL, "wrong-password")).status_code == 401
    assert (await _login(staff_client, "nobody@example.vn", ADMIN_PASSWORD)).status_code == 401
    malformed = await staff_client.post("/api/v1/auth/login", content=b"{not json",
                                        headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    with _app(staff_client).state.context.database.session() as session:
        assert session.scalar(select(func.count()).where(AuditLog.action == "auth.login_failed")) == 2


async def test_tokens_are_required_signed_and_expire(staff_client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/auth/me", "/api/v1/users", "/api/v1/cases", "/api/v1/events"):
        assert (await staff_client.get(path)).status_code == 401
    good = _bearer(await _login(staff_client, ADMIN_EMAIL, ADMIN_PASSWORD))
    assert (await staff_client.get("/api/v1/auth/me", headers=good)).status_code == 200
    tampered = {"Authorization": good["Authorization"][:-3] + "abc"}
    assert (await staff_client.get("/api/v1/auth/me", headers=tampered)).status_code == 401
    assert (await staff_client.get("/api/v1/auth/me", headers={"Authorization": "Bearer x.y"})).status_code == 401
    secret = _app(staff_client).state.context.settings.session_secret.get_secret_value()
    expired = issue_token(secret, 1, 0, minutes=5, now=time.time() - 600)
    response = await staff_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    foreign = issue_token("another-secret", 1, 0, minutes=5)
    assert (await staff_client.get("/api/v1/auth/me",
                                   headers={"Authorization": f"Bearer {foreign}"})).status_code == 401


async def test_roles_and_user_management(staff_client: httpx.AsyncClient) -> None:
    admin = _bearer(await _login(staff_client, ADMIN_EMAIL, ADMIN_PASSWORD))
    for email, role in (("tuvan@example.vn", "counselor"), ("chiendich@example.vn", "campaign_staff")):
        created = await staff_client.post("/api/v1/users", headers=admin, json={
            "email": email, "password": STAFF_PASSWORD, "role": role, "display_name": role})
        assert created.status_code == 201
    duplicate = await staff_client.post("/api/v1/users", headers=admin, json={
        "email": "TuVan@example.vn", "password": STAFF_PASSWORD, "role": "counselor"})
    assert duplicate.status_code == 409
    for bad in ({"email": "x@example.vn", "password": "short", "role": "counselor"},
                {"email": "x@example.vn", "password": STAFF_PASSWORD, "role": "root"},
                {"email": "not-an-email", "password": STAFF_PASSWORD, "role": "counselor"}):
        assert (await staff_client.post("/api/v1/users", headers=admin, json=bad)).status_code == 422

    counselor = _bearer(await _login(staff_client, "tuvan@example.vn", STAFF_PASSWORD))
    campaign = _bearer(await _login(staff_client, "chiendich@example.vn", STAFF_PASSWORD))
    assert (await staff_client.get("/api/v1/users", headers=counselor)).status_code == 403
    assert (await staff_client.get("/api/v1/cases", headers=counselor)).status_code == 200
    assert (await staff_client.get("/api/v1/cases", headers=campaign)).status_code == 403
    assert (await staff_client.get("/api/v1/cases/1", headers=campaign)).status_code == 403
    assert (await staff_client.get("/api/v1/events", headers=campaign)).status_code == 403

    users = (await staff_client.get("/api/v1/users", headers=admin)).json()
    counselor_id = next(u["id"] for u in users if u["email"] == "tuvan@example.vn")
    admin_id = next(u["id"] for u in users if u["email"] == ADMIN_EMAIL)
    assert (await staff_client.patch(f"/api/v1/users/{admin_id}", headers=admin,
                                     json={"active": False})).status_code == 400
    # A new password signs the user out everywhere; deactivation locks the account.
    changed = await staff_client.patch(f"/api/v1/users/{counselor_id}", headers=admin,
                                       json={"password": "another-password-2"})
    assert changed.status_code == 200
    assert (await staff_client.get("/api/v1/auth/me", headers=counselor)).status_code == 401
    counselor = _bearer(await _login(staff_client, "tuvan@example.vn", "another-password-2"))
    assert (await staff_client.patch(f"/api/v1/users/{counselor_id}", headers=admin,
                                     json={"active": False})).status_code == 200
    assert (await staff_client.get("/api/v1/auth/me", headers=counselor)).status_code == 401
    assert (await _login(staff_client, "tuvan@example.vn", "another-password-2")).status_code == 401
    with _app(staff_client).state.context.database.session() as session:
        actions = list(session.scalars(select(AuditLog.action)))
    assert actions.count("user.create") == 2 and actions.count("user.update") == 2


async def test_console_page_has_strict_headers(staff_client: httpx.AsyncClient) -> None:
    page = await staff_client.get("/console")
    assert page.status_code == 200 and 'lang="vi"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert (await staff_client.get("/console/assets/console.js")).status_code == 200
    assert (await staff_client.get("/console/assets/..%2Fsecret")).status_code == 404
