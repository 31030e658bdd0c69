"""Staff accounts: users and roles (models.py), passwords, login tokens, the audit log, the first
admin (bootstrap.py) and the login and user routes (routes.py).

Routes get the signed-in user and role checks from api/deps.py (`CurrentUser`, `AdminUser`,
`CaseWorker`, `require_roles(...)`).
"""
from api.auth.audit import audit
from api.auth.models import ROLES, AuditLog, User

__all__ = ["ROLES", "AuditLog", "User", "audit"]
