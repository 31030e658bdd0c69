"""Staff accounts for the tests that sign in: settings with a bootstrap admin, a counselor group and
open hours; login and new accounts through the API; or an account made straight in the database."""
from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from api.auth.models import User
from api.auth.passwords import hash_password
from api.auth.tokens import issue_token
from api.settings import Settings

ADMIN_EMAIL = "admin@example.vn"
ADMIN_PASSWORD = "admin-password-123"
COUNSELOR_GROUP = "-1001234567890"
STAFF_PASSWORD = "counselor-password-1"


def staff_settings(base: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bootstrap_admin_email": ADMIN_EMAIL,
        "bootstrap_admin_password": ADMIN_PASSWORD,
        "telegram_counselor_chat_id": COUNSELOR_GROUP,
        "case_notifier_tick_seconds": 0.2,
        "office_hours": "00:00-24:00",
    }
    values.update(overrides)
    return Settings(_env_file=None, **{**base.model_dump(), **values})  # type: ignore[call-arg]


async def login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_staff(http: httpx.AsyncClient, admin: dict[str, str], email: str, role: str = "counselor",
                       name: str | None = None) -> dict[str, str]:
    response = await http.post("/api/v1/users", headers=admin, json={
        "email": email, "password": STAFF_PASSWORD, "role": role, "display_name": name or email.split("@")[0]})
    assert response.status_code == 201, response.text
    return await login(http, email, STAFF_PASSWORD)


def admin_headers(http: httpx.Client) -> dict[str, str]:
    """The bootstrap admin signed in (for the browser tests, which drive a gateway in a thread)."""
    response = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def add_staff(http: httpx.Client, admin: dict[str, str], accounts: tuple[tuple[str, str, str], ...]) -> None:
    """Staff accounts (email, role, display name) with STAFF_PASSWORD, created by an admin."""
    for email, role, name in accounts:
        response = http.post("/api/v1/users", headers=admin, json={
            "email": email, "password": STAFF_PASSWORD, "role": role, "display_name": name})
        assert response.status_code == 201, response.text


def staff_token(app: FastAPI, email: str, role: str = "campaign_staff") -> dict[str, str]:
    """Create a staff account in the app's database; the Authorization header for it."""
    settings: Settings = app.state.context.settings
    with app.state.context.database.transaction() as session:
        user = User(email=email, display_name=email.split("@")[0], password_hash=hash_password("x" * 12),
                    role=role)
        session.add(user)
        session.flush()
        token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version,
                            settings.access_token_minutes)
    return {"Authorization": f"Bearer {token}"}
