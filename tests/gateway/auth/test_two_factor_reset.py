"""An admin resets a staff account's two-factor sign-in through the API (a lost phone): the second
factor and recovery codes go, the account is signed out everywhere, the reset is audited; only an
admin may do it, never on their own account (SQLite and PostgreSQL)."""
from __future__ import annotations

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.auth.models import AuditLog
from api.auth.two_factor_models import RecoveryCode, UserTwoFactor
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, create_staff, login, staff_settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings(settings: Settings) -> Settings:  # overrides the shared fixture
    return staff_settings(settings)


async def _enrol(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    started = await client.post("/api/v1/auth/two-factor/enrol", headers=headers)
    assert started.status_code == 200, started.text
    code = pyotp.TOTP(started.json()["secret"]).now()
    confirmed = await client.post("/api/v1/auth/two-factor/enrol/confirm", headers=headers, json={"code": code})
    assert confirmed.status_code == 200, confirmed.text


async def _user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/v1/auth/me", headers=headers)).json()["id"])


async def test_admin_resets_an_enrolled_account(client: httpx.AsyncClient, app: FastAPI) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    counselor = await create_staff(client, admin, "lost-phone@example.vn")
    counselor_id = await _user_id(client, counselor)
    await _enrol(client, counselor)
    asked = await client.post("/api/v1/auth/login", json={"email": "lost-phone@example.vn", "password": STAFF_PASSWORD})
    assert asked.json()["two_factor"] == "code"

    reset = await client.post(f"/api/v1/users/{counselor_id}/two-factor/reset", headers=admin)
    assert reset.status_code == 200, reset.text
    assert reset.json() == {"user_id": counselor_id, "was_enrolled": True}

    assert (await client.get("/api/v1/auth/me", headers=counselor)).status_code == 401  # signed out everywhere
    fresh = await login(client, "lost-phone@example.vn", STAFF_PASSWORD)  # no code asked any more
    state = (await client.get("/api/v1/auth/two-factor", headers=fresh)).json()
    assert state["enrolled"] is False and state["recovery_codes_left"] == 0
    with app.state.context.database.session() as session:
        assert session.scalar(select(func.count()).select_from(UserTwoFactor)
                              .where(UserTwoFactor.user_id == counselor_id)) == 0
        assert session.scalar(select(func.count()).select_from(RecoveryCode)
                              .where(RecoveryCode.user_id == counselor_id)) == 0
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "user.two_factor_reset")).one()
    assert entry.target == f"user:{counselor_id}" and entry.user_id == await _user_id(client, admin)
    assert entry.details == {"via": "api", "was_enrolled": True}


async def test_reset_of_an_account_never_enrolled_says_so(client: httpx.AsyncClient) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    staff = await create_staff(client, admin, "no-phone@example.vn", role="supervisor")
    staff_id = await _user_id(client, staff)
    reset = await client.post(f"/api/v1/users/{staff_id}/two-factor/reset", headers=admin)
    assert reset.status_code == 200 and reset.json()["was_enrolled"] is False


async def test_only_an_admin_resets_and_never_their_own(client: httpx.AsyncClient) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin_id = await _user_id(client, admin)
    supervisor = await create_staff(client, admin, "boss@example.vn", role="supervisor")
    counselor = await create_staff(client, admin, "peer@example.vn")
    counselor_id = await _user_id(client, counselor)

    refused = await client.post(f"/api/v1/users/{counselor_id}/two-factor/reset", headers=supervisor)
    assert refused.status_code == 403
    own = await client.post(f"/api/v1/users/{admin_id}/two-factor/reset", headers=admin)
    assert own.status_code == 400 and "chính mình" in own.json()["detail"]
    missing = await client.post("/api/v1/users/999999/two-factor/reset", headers=admin)
    assert missing.status_code == 404 and "Không tìm thấy" in missing.json()["detail"]
    bad = await client.post("/api/v1/users/0/two-factor/reset", headers=admin)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/auth/me", headers=counselor)).status_code == 200  # nothing changed
