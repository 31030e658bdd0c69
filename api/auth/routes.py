"""Login and user management under /api/v1."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import CASE_ROLES, ROLES, User
from api.auth.passwords import MAX_PASSWORD_LENGTH, check_password_policy, hash_password
from api.auth.throttle import Throttled
from api.auth.tokens import issue_token
from api.auth.two_factor import login_step
from api.db.base import utcnow
from api.db.session import Database
from api.deps import (
    ERROR_RESPONSES,
    AdminUser,
    AppSettings,
    CaseWorker,
    Ctx,
    CurrentUser,
    DbSession,
    GuardedJsonRoute,
    RowId,
)
from api.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)

def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    if "@" not in value or len(value) > 254:
        raise ValueError("email không hợp lệ")
    return value


class LoginRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the scheme name, not a secret)
    expires_in: int
    user: UserOut


class TwoFactorChallenge(BaseModel):
    """The password was right; the sign-in goes on with a code ("code") or enrolment ("enrol"),
    at /api/v1/auth/two-factor/… with this token (short-lived, good for nothing else)."""

    two_factor: Literal["code", "enrol"]
    challenge_token: str
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    display_name: str
    role: str
    active: bool
    last_seen_at: datetime | None

    @field_validator("last_seen_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # SQLite gives naive datetimes back; the schema promises an RFC 3339 date-time (with offset).
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class UserCreate(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    role: str
    display_name: str = Field(default="", max_length=120)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return _normalise_email(value)

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        return check_password_policy(value)

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in ROLES:
            raise ValueError(f"role phải là một trong {', '.join(ROLES)}")
        return value


class UserUpdate(BaseModel):
    """Only the fields sent change; a field sent as null is refused (422), it never blanks a column."""

    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LENGTH)
    role: str | None = None
    display_name: str | None = Field(default=None, max_length=120)
    active: bool | None = None

    @field_validator("password", "role", "display_name", "active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields present in the body (defaults are not validated).
        if value is None:
            raise ValueError("không được để trống (null)")
        return value

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str | None) -> str | None:
        return check_password_policy(value) if value is not None else None

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str | None) -> str | None:
        if value is not None and value not in ROLES:
            raise ValueError(f"role phải là một trong {', '.join(ROLES)}")
        return value


class ColleagueOut(BaseModel):
    id: int
    display_name: str
    role: str
    online: bool


LOGIN_FAILED = "Email hoặc mật khẩu không đúng."
TOO_MANY_LOGINS = "Có quá nhiều lần đăng nhập. Vui lòng đợi một chút rồi thử lại."


def _user_for_login(database: Database, email: str) -> tuple[int, str, bool] | None:
    with database.session() as session:
        row = session.execute(select(User.id, User.password_hash, User.active).where(User.email == email)).first()
    return (row.id, row.password_hash, row.active) if row else None


def _complete_login(session: Session, settings: Settings, user_id: int) -> TokenResponse:
    user = session.get(User, user_id)
    assert user is not None
    user.last_seen_at = utcnow()
    audit(session, user, "auth.login", f"user:{user.id}")
    session.flush()
    token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version,
                        settings.access_token_minutes)
    return TokenResponse(access_token=token, expires_in=settings.access_token_minutes * 60,
                         user=UserOut.model_validate(user))


CHALLENGE_MINUTES = {"code": 5, "enrol": 15}  # scanning a QR code and typing takes a while


def _challenge(settings: Settings, user: User, step: Literal["code", "enrol"]) -> TwoFactorChallenge:
    minutes = CHALLENGE_MINUTES[step]
    token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version, minutes,
                        purpose=f"2fa-{step}")
    return TwoFactorChallenge(two_factor=step, challenge_token=token, expires_in=minutes * 60)


@router.post("/auth/login", response_model=TokenResponse | TwoFactorChallenge,
             responses={401: {"description": "Wrong email or password"},
                        429: {"description": "Too many login attempts (Retry-After says when to retry)"}})
async def login(body: LoginRequest, request: Request, context: Ctx) -> TokenResponse | TwoFactorChallenge:
    """Sign in. The password check runs on its own small pool; see api/auth/throttle.py for the
    limits (per client address, global) and the slowdown per email that never locks its owner out."""
    email = body.email.strip().lower()
    throttle = context.login_throttle
    address = request.client.host if request.client else "unknown"
    try:
        delay = await throttle.admit(email, address)
    except Throttled as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=TOO_MANY_LOGINS,
                            headers={"Retry-After": str(exc.retry_after)}) from None
    if delay:
        await asyncio.sleep(delay)
    found = await asyncio.to_thread(_user_for_login, context.database, email)
    password_ok = await throttle.verify(found[1] if found else None, body.password)
    if found is None or not password_ok or not found[2]:
        await throttle.failed(email)
        # Writes go through the write gate, behind the webhooks' urgent ones: on SQLite a login's
        # own transaction would otherwise contend with the message path for the write lock.
        async with context.write_gate.transaction() as session:
            audit(session, None, "auth.login_failed", "", {})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=LOGIN_FAILED)
    await throttle.succeeded(email)
    async with context.write_gate.transaction() as session:
        user = session.get(User, found[0])
        assert user is not None
        step = login_step(session, context.settings, user)
        if step is not None:  # no session before the second factor
            audit(session, user, "auth.password_ok", f"user:{user.id}", {"next": step})
            return _challenge(context.settings, user, step)
        return _complete_login(session, context.settings, found[0])


@router.get("/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    return user


@router.get("/users", response_model=list[UserOut])
def list_users(admin: AdminUser, session: DbSession) -> list[User]:
    audit(session, admin, "user.list")
    session.commit()
    return list(session.scalars(select(User).order_by(User.id)))


@router.get("/colleagues", response_model=list[ColleagueOut])
def list_colleagues(user: CaseWorker, session: DbSession, settings: AppSettings) -> list[ColleagueOut]:
    """Active counselors and supervisors a case can be transferred to (no emails)."""
    now = utcnow()
    users = session.scalars(select(User).where(User.active.is_(True), User.role.in_(CASE_ROLES))
                            .order_by(User.display_name, User.id))
    return [ColleagueOut(id=u.id, display_name=u.display_name or f"#{u.id}", role=u.role,
                         online=u.is_online(now, settings.counselor_online_seconds)) for u in users]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: AdminUser, session: DbSession) -> User:
    user = User(email=body.email, display_name=body.display_name, role=body.role,
                password_hash=hash_password(body.password), active=True)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Email này đã có tài khoản.") from None
    audit(session, admin, "user.create", f"user:{user.id}", {"role": user.role})
    session.commit()
    return user


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: RowId, body: UserUpdate, admin: AdminUser, session: DbSession) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không tìm thấy tài khoản.")
    if user.id == admin.id and (body.active is False or (body.role and body.role != "admin")):
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            detail="Không thể tự khoá hoặc tự bỏ quyền quản trị của chính mình.")
    changed = body.model_dump(exclude_unset=True, exclude={"password"})
    for field, value in changed.items():
        setattr(user, field, value)
    if body.password is not None:
        user.password_hash = hash_password(body.password)
        changed["password"] = "changed"  # noqa: S105 (audit marker, never the value)
    if body.password is not None or body.active is False or body.role is not None:
        user.token_version += 1  # sign the user out everywhere
    audit(session, admin, "user.update", f"user:{user.id}", {"fields": sorted(changed)})
    session.commit()
    return user

