"""Create the first admin from settings when no user exists yet."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from api.auth.models import User
from api.auth.passwords import hash_password, password_problem
from api.db.session import Database
from api.settings import Settings

log = logging.getLogger(__name__)


def ensure_bootstrap_admin(db: Database, settings: Settings) -> User | None:
    """Idempotent: does nothing once any user exists or when the settings are empty."""
    email = settings.bootstrap_admin_email.strip().lower()
    password = settings.bootstrap_admin_password.get_secret_value()
    if not email or not password:
        return None
    problem = password_problem(password)
    if problem:  # refuse to start with a weak first admin rather than create it
        raise ValueError(f"BOOTSTRAP_ADMIN_PASSWORD does not meet the password policy: {problem}")
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        admin = User(email=email, display_name="Quản trị viên", password_hash=hash_password(password),
                     role="admin", active=True)
        session.add(admin)
    log.info("bootstrap admin account created")
    return admin
