"""Two-factor sign-in routes under /api/v1/auth/two-factor (the flow: docs/privacy-access.md).

    POST /auth/login                      → {"two_factor": "code"|"enrol", "challenge_token"} when needed
    POST /auth/two-factor/verify          {challenge_token, code}  → session (code or recovery code)
    POST /auth/two-factor/enrol           (challenge "enrol" or a session) → secret, QR code, once
    POST /auth/two-factor/enrol/confirm   {code} → recovery codes (once) and, after login, the session
    GET  /auth/two-factor                 the signed-in account's state
    POST /users/{user_id}/two-factor/reset  (admins) the second factor of another account removed

Code attempts go through the login throttle (per client address, gateway-wide, and a slowdown per
account), and an account's code step is refused for a while after MAX_CODE_FAILURES wrong codes.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.auth import two_factor
from api.auth.audit import audit
from api.auth.models import User
from api.auth.routes import TOO_MANY_LOGINS, TokenResponse, _complete_login
from api.auth.throttle import LoginThrottle, Throttled
from api.auth.tokens import InvalidToken, read_token
from api.auth.two_factor_models import RecoveryCode, UserTwoFactor
from api.db.base import utcnow
from api.deps import ERROR_RESPONSES, AdminUser, Ctx, CurrentUser, DbSession, GuardedJsonRoute, RowId, user_from_token
from api.settings import Settings

router = APIRouter(prefix="/api/v1/auth/two-factor", tags=["auth"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)
_bearer = HTTPBearer(auto_error=False)
# The consoles' shared sign-in script (both pages load it before their own script).
assets_router = APIRouter(include_in_schema=False)
SCRIPT = Path(__file__).resolve().parent / "static" / "two-factor.js"
MAX_CODE_FAILURES = 10  # wrong codes per account within the throttle's window, then 429
CHALLENGE_EXPIRED = "Phiên xác thực đã hết hạn, vui lòng đăng nhập lại. / The sign-in expired, please sign in again."
WRONG_CODE = "Mã xác thực không đúng hoặc đã dùng. / Wrong or already used code."


class CodeIn(BaseModel):
    # Six digits, or a recovery code such as "K7QD-M2XA-PF9R" (spaces and dashes are ignored).
    code: str = Field(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9 -]+$")


class VerifyIn(CodeIn):
    challenge_token: str = Field(max_length=512)


class EnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_code: str  # data:image/svg+xml;base64,…


class EnrolledOut(BaseModel):
    recovery_codes: list[str]
    session: TokenResponse | None  # after a login that led to enrolment


class StateOut(BaseModel):
    enrolled: bool
    required: bool
    recovery_codes_left: int


def _challenge_user(session: Session, settings: Settings, token: str, step: Literal["code", "enrol"]) -> User:
    try:
        claims = read_token(settings.session_secret.get_secret_value(), token, purpose=f"2fa-{step}")
    except InvalidToken:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=CHALLENGE_EXPIRED) from None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.token_version:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=CHALLENGE_EXPIRED)
    return user


@dataclass(frozen=True)
class Enrolling:
    user_id: int
    after_login: bool  # signed in with the enrolment challenge, not a session


def enrolling(session: DbSession, context: Ctx,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Enrolling:
    """A session's user, or the user of an enrolment challenge (a login that must enrol first)."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=CHALLENGE_EXPIRED)
    try:
        read_token(context.settings.session_secret.get_secret_value(), credentials.credentials)
    except InvalidToken:
        user = _challenge_user(session, context.settings, credentials.credentials, "enrol")
        return Enrolling(user_id=user.id, after_login=True)
    return Enrolling(user_id=user_from_token(session, context.settings, credentials.credentials).id,
                     after_login=False)


Enroller = Annotated[Enrolling, Depends(enrolling)]


async def _admit(throttle: LoginThrottle, request: Request, user_id: int) -> str:
    """The login limits for a code attempt; the throttle key of this account's codes."""
    key = f"2fa:{user_id}"
    address = request.client.host if request.client else "unknown"
    try:
        delay = await throttle.admit(key, address)
    except Throttled as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=TOO_MANY_LOGINS,
                            headers={"Retry-After": str(exc.retry_after)}) from None
    if await throttle.recent_failures(key) >= MAX_CODE_FAILURES:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=TOO_MANY_LOGINS,
                            headers={"Retry-After": "900"})
    if delay:
        await asyncio.sleep(delay)
    return key


def _use_totp(session: Session, record: UserTwoFactor | None, secret: str | None, code: str) -> bool:
    """Accept a TOTP code once: the step is written only if no other request used it first."""
    if record is None or secret is None or not two_factor.is_totp_code(code):
        return False
    step = two_factor.accepted_step(secret, code, record.last_used_step)
    if step is None:
        return False
    newer = (UserTwoFactor.last_used_step.is_(None)) | (UserTwoFactor.last_used_step < step)
    won = session.execute(update(UserTwoFactor).where(UserTwoFactor.user_id == record.user_id, newer)
                          .values(last_used_step=step, updated_at=utcnow()))
    return bool(getattr(won, "rowcount", 0) == 1)


async def _use_recovery_code(context: Ctx, user_id: int, code: str) -> bool:
    with context.database.session() as session:
        row = two_factor.unused_recovery_code(session, user_id, code)
        found = (row.id, row.code_hash) if row else None
    ok = await context.login_throttle.verify(found[1] if found else None,
                                             two_factor.normalise_recovery_code(code))
    if found is None or not ok:
        return False
    async with context.write_gate.transaction() as session:
        used = session.execute(update(RecoveryCode).where(RecoveryCode.id == found[0], RecoveryCode.used_at.is_(None))
                               .values(used_at=utcnow()))
        return bool(getattr(used, "rowcount", 0) == 1)


@router.post("/verify", response_model=TokenResponse,
             responses={429: {"description": "Too many code attempts (Retry-After says when to retry)"}})
async def verify(body: VerifyIn, request: Request, context: Ctx) -> TokenResponse:
    """The second step of a login: an authenticator code, or a recovery code (each works once)."""
    with context.database.session() as session:
        user_id = _challenge_user(session, context.settings, body.challenge_token, "code").id
    key = await _admit(context.login_throttle, request, user_id)
    method = "totp"
    async with context.write_gate.transaction() as session:
        record = two_factor.two_factor_of(session, user_id)
        secret = context.crypto.decrypt(record.secret_encrypted) if record and record.secret_encrypted else None
        ok = _use_totp(session, record, secret, body.code)
    if not ok and not two_factor.is_totp_code(body.code) and secret is not None:
        method, ok = "recovery_code", await _use_recovery_code(context, user_id, body.code)
    async with context.write_gate.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        if not ok:
            audit(session, user, "auth.two_factor_failed", f"user:{user_id}", {"method": method})
        else:
            audit(session, user, "auth.two_factor_ok", f"user:{user_id}", {"method": method})
            result = _complete_login(session, context.settings, user_id)
    if not ok:
        await context.login_throttle.failed(key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=WRONG_CODE)
    await context.login_throttle.succeeded(key)
    return result


@router.post("/enrol", response_model=EnrolmentOut)
async def start_enrolment(who: Enroller, context: Ctx) -> EnrolmentOut:
    """A new secret, shown once (QR code and text); it counts only once a code confirms it."""
    secret = two_factor.generate_secret()
    async with context.write_gate.transaction() as session:
        user = session.get(User, who.user_id)
        assert user is not None
        record = two_factor.two_factor_of(session, user.id)
        if record is not None and record.enrolled:
            raise HTTPException(status.HTTP_409_CONFLICT, detail="Tài khoản đã bật xác thực hai bước. / "
                                                                 "Two-factor sign-in is already on.")
        if record is None:
            record = UserTwoFactor(user_id=user.id)
            session.add(record)
        record.pending_secret_encrypted = context.crypto.encrypt(secret)
        record.updated_at = utcnow()
        audit(session, user, "auth.two_factor_enrolment_started", f"user:{user.id}")
        uri = two_factor.provisioning_uri(secret, user.email)
    return EnrolmentOut(secret=secret, otpauth_uri=uri, qr_code=two_factor.qr_data_url(uri))


@router.post("/enrol/confirm", response_model=EnrolledOut)
async def confirm_enrolment(body: CodeIn, who: Enroller, request: Request, context: Ctx) -> EnrolledOut:
    """A code from the new secret turns two-factor sign-in on and gives the recovery codes, once."""
    key = await _admit(context.login_throttle, request, who.user_id)
    with context.database.session() as session:
        record = two_factor.two_factor_of(session, who.user_id)
        pending = record.pending_secret_encrypted if record is not None else None
    step = two_factor.accepted_step(context.crypto.decrypt(pending), body.code, None) if pending else None
    if step is None:
        async with context.write_gate.transaction() as session:
            audit(session, session.get(User, who.user_id), "auth.two_factor_failed", f"user:{who.user_id}",
                  {"method": "enrolment"})
        await context.login_throttle.failed(key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=WRONG_CODE)
    codes = two_factor.new_recovery_codes()
    rows = await asyncio.to_thread(two_factor.recovery_rows, who.user_id, codes)  # argon2: off the loop
    async with context.write_gate.transaction() as session:
        record = two_factor.two_factor_of(session, who.user_id)
        if record is None or record.pending_secret_encrypted != pending:
            raise HTTPException(status.HTTP_409_CONFLICT, detail="Mã QR đã được tạo lại: hãy quét mã mới. / "
                                                                 "A newer QR code was made: scan it.")
        record.secret_encrypted, record.pending_secret_encrypted = pending, None
        record.enabled_at = record.updated_at = utcnow()
        record.last_used_step = step
        two_factor.clear_recovery_codes(session, who.user_id)
        session.add_all(rows)
        user = session.get(User, who.user_id)
        audit(session, user, "auth.two_factor_enrolled", f"user:{who.user_id}", {"recovery_codes": len(rows)})
        signed_in = _complete_login(session, context.settings, who.user_id) if who.after_login else None
    await context.login_throttle.succeeded(key)
    return EnrolledOut(recovery_codes=codes, session=signed_in)


@router.get("", response_model=StateOut)
def state(user: CurrentUser, session: DbSession, context: Ctx) -> StateOut:
    return StateOut(enrolled=two_factor.is_enrolled(session, user.id),
                    required=two_factor.required_for(context.settings, user),
                    recovery_codes_left=two_factor.recovery_codes_left(session, user.id))


@assets_router.get("/auth/assets/two-factor.js")
async def two_factor_script() -> FileResponse:
    return FileResponse(SCRIPT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-store"})


# An admin resets another account's second factor (a lost phone, no recovery code left): the same
# reset as `python -m api.cli reset-password EMAIL --reset-two-factor`, without a new password.
admin_router = APIRouter(prefix="/api/v1/users", tags=["auth"], route_class=GuardedJsonRoute,
                         responses=ERROR_RESPONSES)


class ResetOut(BaseModel):
    user_id: int
    was_enrolled: bool


@admin_router.post("/{user_id}/two-factor/reset", response_model=ResetOut)
def reset_user_two_factor(user_id: RowId, admin: AdminUser, session: DbSession) -> ResetOut:
    """The account is signed out everywhere and enrols again at its next login. Audited."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy tài khoản. / No such account.")
    if user.id == admin.id:
        # A stolen admin session must not be able to strip the account's own second factor.
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=(
            "Không thể tự đặt lại đăng nhập hai bước của chính mình. / You cannot reset your own two-factor sign-in."))
    removed = two_factor.reset_two_factor(session, user, by=admin, via="api")
    session.commit()
    return ResetOut(user_id=user.id, was_enrolled=removed)
