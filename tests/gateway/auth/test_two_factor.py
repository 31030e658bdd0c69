"""Two-factor sign-in: enrolment (QR code, confirmed with a code), codes at login, required for
counselor, supervisor and admin with TWO_FACTOR_REQUIRED, recovery codes used once, the login
throttle on code attempts, the audit log (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.auth.models import AuditLog, User
from api.auth.passwords import hash_password
from api.auth.tokens import issue_token
from api.auth.two_factor_models import RecoveryCode, UserTwoFactor
from api.settings import Settings
from tests.gateway.staff import STAFF_PASSWORD, staff_settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings(settings: Settings) -> Settings:  # overrides the shared fixture
    # No slowdown per account here: the test of the code limit counts failures, not seconds.
    return staff_settings(settings, two_factor_required=True, login_failures_before_delay=100)


def _user(app: FastAPI, email: str, role: str) -> int:
    with app.state.context.database.transaction() as session:
        user = User(email=email, display_name=email.split("@")[0], role=role,
                    password_hash=hash_password(STAFF_PASSWORD))
        session.add(user)
        session.flush()
        return user.id


async def _login(client: httpx.AsyncClient, email: str) -> dict:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": STAFF_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _enrol(client: httpx.AsyncClient, challenge: str) -> tuple[pyotp.TOTP, dict]:
    """Enrol with the challenge or session token; the TOTP and the answer (its "used_code" added)."""
    started = await client.post("/api/v1/auth/two-factor/enrol", headers=_bearer(challenge))
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["qr_code"].startswith("data:image/svg+xml;base64,")
    assert body["otpauth_uri"].startswith("otpauth://totp/") and body["secret"] in body["otpauth_uri"]
    totp = pyotp.TOTP(body["secret"])
    code = totp.now()
    confirmed = await client.post("/api/v1/auth/two-factor/enrol/confirm", headers=_bearer(challenge),
                                  json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    return totp, {**confirmed.json(), "used_code": code}


def _next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: the current one was just used, and a code works once."""
    return totp.at(datetime.now(UTC) + timedelta(seconds=30))


def _actions(app: FastAPI, user_id: int) -> list[str]:
    with app.state.context.database.session() as session:
        return list(session.scalars(select(AuditLog.action).where(AuditLog.user_id == user_id).order_by(AuditLog.id)))


@pytest.mark.parametrize("role", ["counselor", "supervisor", "admin"])
async def test_required_roles_get_no_session_without_enrolment(client: httpx.AsyncClient, app: FastAPI,
                                                               role: str) -> None:
    _user(app, f"{role}-2fa@example.vn", role)
    first = await _login(client, f"{role}-2fa@example.vn")
    assert first["two_factor"] == "enrol" and "access_token" not in first
    for path in ("/api/v1/cases", "/api/v1/auth/me", "/api/v1/users", "/api/v1/inbox"):
        assert (await client.get(path, headers=_bearer(first["challenge_token"]))).status_code == 401


async def test_enrolment_then_codes_at_login(client: httpx.AsyncClient, app: FastAPI) -> None:
    role = "counselor"
    user_id = _user(app, f"{role}@example.vn", role)
    first = await _login(client, f"{role}@example.vn")
    assert first["two_factor"] == "enrol" and "access_token" not in first
    # The challenge opens nothing but enrolment.
    assert (await client.get("/api/v1/cases", headers=_bearer(first["challenge_token"]))).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=_bearer(first["challenge_token"]))).status_code == 401
    wrong = await client.post("/api/v1/auth/two-factor/enrol/confirm", headers=_bearer(first["challenge_token"]),
                              json={"code": "000000"})
    assert wrong.status_code == 401  # before any secret is shown
    totp, enrolled = await _enrol(client, first["challenge_token"])
    codes = enrolled["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    session = enrolled["session"]
    assert (await client.get("/api/v1/cases", headers=_bearer(session["access_token"]))).status_code == 200
    state = (await client.get("/api/v1/auth/two-factor", headers=_bearer(session["access_token"]))).json()
    assert state == {"enrolled": True, "required": True, "recovery_codes_left": 10}
    with app.state.context.database.session() as db:
        record = db.get(UserTwoFactor, user_id)
        assert record is not None and record.pending_secret_encrypted is None
        assert record.secret_encrypted and totp.secret not in record.secret_encrypted  # encrypted at rest
        hashes = list(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)))
        assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
        assert not any(code.replace("-", "") in h for code in codes for h in hashes)

    # Next login: a code is asked; a wrong one and a used one are refused.
    second = await _login(client, f"{role}@example.vn")
    assert second["two_factor"] == "code" and "access_token" not in second
    verify = "/api/v1/auth/two-factor/verify"
    challenge = second["challenge_token"]
    assert (await client.post(verify, json={"challenge_token": challenge, "code": "123456"})).status_code == 401
    replayed = enrolled["used_code"]
    assert (await client.post(verify, json={"challenge_token": challenge, "code": replayed})).status_code == 401
    signed_in = await client.post(verify, json={"challenge_token": challenge, "code": _next_code(totp)})
    assert signed_in.status_code == 200, signed_in.text
    me = await client.get("/api/v1/auth/me", headers=_bearer(signed_in.json()["access_token"]))
    assert me.json()["role"] == role
    actions = _actions(app, user_id)
    for expected in ("auth.password_ok", "auth.two_factor_enrolment_started", "auth.two_factor_enrolled",
                     "auth.two_factor_failed", "auth.two_factor_ok", "auth.login"):
        assert expected in actions


async def test_a_recovery_code_works_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    user_id = _user(app, "lan@example.vn", "counselor")
    _totp, enrolled = await _enrol(client, (await _login(client, "lan@example.vn"))["challenge_token"])
    code = enrolled["recovery_codes"][3]
    verify = "/api/v1/auth/two-factor/verify"
    challenge = (await _login(client, "lan@example.vn"))["challenge_token"]
    used = await client.post(verify, json={"challenge_token": challenge, "code": code.lower().replace("-", " ")})
    assert used.status_code == 200, used.text
    again = await client.post(verify, json={"challenge_token": challenge, "code": code})
    assert again.status_code == 401
    other = await client.post(verify, json={"challenge_token": challenge, "code": enrolled["recovery_codes"][0]})
    assert other.status_code == 200
    with app.state.context.database.session() as db:
        assert len(list(db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id,
                                                              RecoveryCode.used_at.is_(None))))) == 8
    with app.state.context.database.session() as db:
        details = list(db.scalars(select(AuditLog.details).where(AuditLog.action == "auth.two_factor_ok")))
    assert {"method": "recovery_code"} in details


async def test_code_attempts_are_throttled(client: httpx.AsyncClient, app: FastAPI) -> None:
    _user(app, "minh@example.vn", "supervisor")
    totp, _ = await _enrol(client, (await _login(client, "minh@example.vn"))["challenge_token"])
    challenge = (await _login(client, "minh@example.vn"))["challenge_token"]
    statuses = [(await client.post("/api/v1/auth/two-factor/verify",
                                   json={"challenge_token": challenge, "code": "000000"})).status_code
                for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    # Even the right code waits now: guessing stops, the owner retries later.
    late = await client.post("/api/v1/auth/two-factor/verify",
                             json={"challenge_token": challenge, "code": _next_code(totp)})
    assert late.status_code == 429 and int(late.headers["Retry-After"]) > 0


async def test_campaign_staff_sign_in_without_a_code_and_old_sessions_must_enrol(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    _user(app, "campaign@example.vn", "campaign_staff")
    signed_in = await _login(client, "campaign@example.vn")
    assert "access_token" in signed_in
    # A counselor's session from before TWO_FACTOR_REQUIRED was turned on opens nothing.
    counselor_id = _user(app, "old@example.vn", "counselor")
    settings: Settings = app.state.context.settings
    old = issue_token(settings.session_secret.get_secret_value(), counselor_id, 0, 60)
    refused = await client.get("/api/v1/cases", headers=_bearer(old))
    assert refused.status_code == 401 and "hai bước" in refused.json()["detail"]


@pytest.fixture
def optional(settings: Settings) -> Settings:
    return settings.model_copy(update={"two_factor_required": False})


async def test_enrolment_is_optional_when_not_required(optional: Settings) -> None:
    from api.main import create_app

    app = create_app(optional)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            _user(app, "lan@example.vn", "counselor")
            session = await _login(client, "lan@example.vn")
            assert "access_token" in session
            totp, enrolled = await _enrol(client, session["access_token"])
            assert enrolled["session"] is None
            again = await _login(client, "lan@example.vn")
            assert again["two_factor"] == "code"  # enrolled: the code is asked from now on
            signed_in = await client.post("/api/v1/auth/two-factor/verify", json={
                "challenge_token": again["challenge_token"], "code": _next_code(totp)})
            assert signed_in.status_code == 200
