"""Login and user management under /api/v1."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.auth.audit import audit
from api.auth.models import CASE_ROLES, ROLES, User
from api.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from api.auth.tokens import issue_token
from api.db.base import utcnow
from api.deps import AdminUser, AppSettings, CaseWorker, Ctx, CurrentUser, DbSession

router = APIRouter(prefix="/api/v1", tags=["auth"])

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


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    display_name: str
    role: str
    active: bool
    last_seen_at: datetime | None


class UserCreate(BaseModel):
    email: str
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    role: str
    display_name: str = Field(default="", max_length=120)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return _normalise_email(value)

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in ROLES:
            raise ValueError(f"role phải là một trong {', '.join(ROLES)}")
        return value


class UserUpdate(BaseModel):
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    role: str | None = None
    display_name: str | None = Field(default=None, max_length=120)
    active: bool | None = None

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


@router.post("/auth/login", response_model=TokenResponse)
def login(body: LoginRequest, session: DbSession, settings: AppSettings, context: Ctx) -> TokenResponse:
    email = body.email.strip().lower()
    throttle = context.login_throttle
    if throttle.too_many_failures(email):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            detail="Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút.")
    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, body.password) or user is None \
            or not user.active:
        throttle.failed(email)
        audit(session, None, "auth.login_failed", "", {})
        session.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Email hoặc mật khẩu không đúng.")
    throttle.succeeded(email)
    user.last_seen_at = utcnow()
    audit(session, user, "auth.login", f"user:{user.id}")
    session.commit()
    token = issue_token(settings.session_secret.get_secret_value(), user.id, user.token_version,
                        settings.access_token_minutes)
    return TokenResponse(access_token=token, expires_in=settings.access_token_minutes * 60,
                         user=UserOut.model_validate(user))


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
def update_user(user_id: int, body: UserUpdate, admin: AdminUser, session: DbSession) -> User:
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

