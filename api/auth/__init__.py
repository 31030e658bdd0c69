"""Staff accounts, login tokens, role checks and the audit log.

Use in routes:
    from api.auth import CurrentUser, require_roles, DbSession, audit
    @router.get("/x")
    def x(user: Annotated[User, Depends(require_roles("admin", "campaign_staff"))], db: DbSession): ...
or the ready aliases `AdminUser`, `CaseWorker` (counselor, supervisor, admin), `ContentEditor`.
"""
from api.auth.audit import audit
from api.auth.deps import (
    AdminUser,
    CaseWorker,
    ContentEditor,
    CurrentUser,
    DbSession,
    SupervisorUser,
    require_roles,
)
from api.auth.models import ROLES, AuditLog, User

__all__ = [
    "ROLES",
    "AdminUser",
    "AuditLog",
    "CaseWorker",
    "ContentEditor",
    "CurrentUser",
    "DbSession",
    "SupervisorUser",
    "User",
    "audit",
    "require_roles",
]
