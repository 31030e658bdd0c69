"""FastAPI dependencies shared by every route: the app context, a database session, the settings,
the signed-in user and role checks.

    @router.get("/x")
    def x(user: CaseWorker, session: DbSession, settings: AppSettings, context: Ctx): ...
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.auth.models import CASE_ROLES, User
from api.auth.tokens import InvalidToken, read_token
from api.auth.two_factor import is_enrolled, required_for
from api.context import AppContext, app_context
from api.db.base import utcnow
from api.db.session import Database
from api.security.json_body import INT64_MAX, GuardedJsonRoute  # noqa: F401 (re-exported for api.auth.routes)
from api.settings import Settings

_bearer = HTTPBearer(auto_error=False)


class ErrorOut(BaseModel):
    """Every error answer of the JSON API: a message, or FastAPI's list of invalid fields (422)."""

    detail: Any


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# The error statuses the API's routes answer, documented in the OpenAPI schema of every API router.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed request (body not JSON, invalid characters)"),
    401: _error("Not signed in, or the session expired"),
    403: _error("Signed in without the role this needs"),
    404: _error("No such object"),
    409: _error("Conflicts with the current state"),
    413: _error("Body too large"),
    422: _error("Invalid fields, JSON nested too deeply, or a number out of range"),
    429: _error("Too many requests (Retry-After says when to retry)"),
    500: _error("Unexpected server error (no details are given)"),
}
# A row id in a path: what a database integer column can hold (a larger number answers 422, not 500).
RowId = Annotated[int, Path(ge=1, le=INT64_MAX)]
# Presence is written at most this often per user, not on every request.
_PRESENCE_WRITE_SECONDS = 30


def get_context(request: Request) -> AppContext:
    return app_context(request.app)


Ctx = Annotated[AppContext, Depends(get_context)]


def get_database(context: Ctx) -> Database:
    return context.database


def get_app_settings(context: Ctx) -> Settings:
    return context.settings


def get_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with db.session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


def _unauthorized(detail: str = "Chưa đăng nhập hoặc phiên đã hết hạn.") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


def user_from_token(session: Session, settings: Settings, token: str) -> User:
    """Resolve a bearer token to an active user, or raise 401."""
    try:
        claims = read_token(settings.session_secret.get_secret_value(), token)
    except InvalidToken:
        raise _unauthorized() from None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.token_version:
        raise _unauthorized()
    if required_for(settings, user) and not is_enrolled(session, user.id):
        # A session from before TWO_FACTOR_REQUIRED: signing in again leads to enrolment.
        raise _unauthorized("Tài khoản cần bật xác thực hai bước: vui lòng đăng nhập lại.")
    return user


def mark_seen(db: Database, user: User) -> None:
    """Record presence (used for 'a counselor is online'); cheap and rate limited."""
    now = utcnow()
    seen = user.last_seen_at
    if seen is not None and seen.tzinfo is None:
        seen = seen.replace(tzinfo=now.tzinfo)
    if seen is not None and now - seen < timedelta(seconds=_PRESENCE_WRITE_SECONDS):
        return
    with db.transaction() as tx:
        tx.execute(update(User).where(User.id == user.id).values(last_seen_at=now))
    user.last_seen_at = now


def get_current_user(
    session: DbSession,
    settings: AppSettings,
    db: Annotated[Database, Depends(get_database)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized()
    user = user_from_token(session, settings, credentials.credentials)
    mark_seen(db, user)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """Dependency that lets only the given roles through (401 without a token, 403 otherwise).

    Usage: `user: Annotated[User, Depends(require_roles("admin"))]`.
    """
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Bạn không có quyền thực hiện thao tác này.")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles("admin"))]
SupervisorUser = Annotated[User, Depends(require_roles("supervisor", "admin"))]
CaseWorker = Annotated[User, Depends(require_roles(*CASE_ROLES))]
