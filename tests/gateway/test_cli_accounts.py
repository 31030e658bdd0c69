"""`python -m api.cli create-user` and `reset-password`: the password comes from stdin (or a prompt),
never the command line; a reset signs the account out and, when asked, removes its second factor;
both are audited (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from api.auth.models import AuditLog, User
from api.auth.passwords import verify_password
from api.auth.two_factor_models import RecoveryCode, UserTwoFactor
from api.db.session import Database
from api.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "một mật khẩu đủ dài 2026"


def _cli(settings: Settings, tmp_path: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "ENVIRONMENT": "test",
           "DATABASE_URL": settings.database_url, "ID_HMAC_SECRET": "cli-test",
           "DATA_ENCRYPTION_KEY": settings.data_encryption_key.get_secret_value()}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], input=stdin, capture_output=True,  # noqa: S603
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)


def test_create_user_reads_the_password_from_stdin(settings: Settings, database: Database, tmp_path: Path) -> None:
    done = _cli(settings, tmp_path, "create-user", "Lan@Example.vn", "--role", "counselor", "--name", "Chị Lan",
                stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    with database.session() as session:
        user = session.scalars(select(User).where(User.email == "lan@example.vn")).one()
        assert (user.role, user.display_name, user.active) == ("counselor", "Chị Lan", True)
        assert verify_password(user.password_hash, PASSWORD)
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "user.create")).one()
        assert entry.target == f"user:{user.id}" and entry.details == {"role": "counselor", "via": "cli"}
    again = _cli(settings, tmp_path, "create-user", "lan@example.vn", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "exists" in again.stderr


def test_a_weak_password_creates_nothing(settings: Settings, database: Database, tmp_path: Path) -> None:
    done = _cli(settings, tmp_path, "create-user", "minh@example.vn", "--role", "admin", stdin="password\n")
    assert done.returncode == 1 and "Mật khẩu" in done.stderr
    with database.session() as session:
        assert session.scalars(select(User).where(User.email == "minh@example.vn")).first() is None


def test_reset_password_signs_out_and_clears_two_factor_when_asked(settings: Settings, database: Database,
                                                                   tmp_path: Path) -> None:
    assert _cli(settings, tmp_path, "create-user", "hoa@example.vn", "--role", "supervisor",
                stdin=PASSWORD + "\n").returncode == 0
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.email == "hoa@example.vn")).one()
        session.add(UserTwoFactor(user_id=user.id, secret_encrypted="x"))
        session.add(RecoveryCode(user_id=user.id, lookup="ABCD", code_hash="h"))
        user_id, version = user.id, user.token_version

    kept = _cli(settings, tmp_path, "reset-password", "hoa@example.vn", stdin="mật khẩu mới cũng đủ dài\n")
    assert kept.returncode == 0, kept.stderr
    with database.session() as session:
        assert session.get(UserTwoFactor, user_id) is not None  # only the password changed
        user = session.get(User, user_id)
        assert user is not None and user.token_version == version + 1
        assert verify_password(user.password_hash, "mật khẩu mới cũng đủ dài")

    cleared = _cli(settings, tmp_path, "reset-password", "hoa@example.vn", "--reset-two-factor",
                   stdin="lại một mật khẩu mới dài\n")
    assert cleared.returncode == 0 and "two-factor sign-in removed" in cleared.stdout
    with database.session() as session:
        assert session.get(UserTwoFactor, user_id) is None
        assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).all() == []
        actions = [(a.action, a.details) for a in session.scalars(select(AuditLog).where(
            AuditLog.target == f"user:{user_id}").order_by(AuditLog.id))]
    assert ("user.two_factor_reset", {"via": "cli", "was_enrolled": True}) in actions
    assert [a for a, _ in actions].count("user.password_reset") == 2
    unknown = _cli(settings, tmp_path, "reset-password", "nobody@example.vn", stdin=PASSWORD + "\n")
    assert unknown.returncode == 1 and "no account" in unknown.stderr
