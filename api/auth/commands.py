"""Operator commands for staff accounts (wired in api/cli.py), for the first steps of a deployment
and for an account locked out of its second factor:

  create-user EMAIL --role ROLE [--name NAME]
  reset-password EMAIL [--reset-two-factor]

The password is read from a prompt (twice) or, when stdin is not a terminal, from its first line:
never from the command line, which every user of the machine can see in `ps`.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from sqlalchemy import select

from api.auth.audit import audit
from api.auth.models import ROLES, User
from api.auth.passwords import hash_password, password_problem
from api.auth.two_factor import reset_two_factor as remove_second_factor
from api.db.session import Database
from api.settings import Settings

COMMANDS = ("create-user", "reset-password")


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    create = commands.add_parser("create-user", help="create a staff account (password from a prompt or stdin)")
    create.add_argument("email")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", default="", help="the name colleagues see")
    reset = commands.add_parser("reset-password", help="set a new password (from a prompt or stdin)")
    reset.add_argument("email")
    reset.add_argument("--reset-two-factor", action="store_true",
                       help="also remove the account's authenticator and recovery codes (it enrols again)")


class CommandError(Exception):
    """A message for the operator; the command exits with status 1."""


def read_password(stdin: TextIO = sys.stdin) -> str:
    if stdin.isatty():
        password = getpass.getpass("Mật khẩu mới / New password: ")
        if getpass.getpass("Nhập lại / Repeat: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise CommandError(problem)
    return password


def create_user(database: Database, email: str, role: str, name: str, password: str) -> int:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise CommandError("invalid email")
    if role not in ROLES:
        raise CommandError(f"role must be one of {', '.join(ROLES)}")
    with database.transaction() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise CommandError("an account with this email exists (use reset-password)")
        user = User(email=email, display_name=name, role=role, password_hash=hash_password(password), active=True)
        session.add(user)
        session.flush()
        audit(session, None, "user.create", f"user:{user.id}", {"role": role, "via": "cli"})
        return user.id


def reset_password(database: Database, email: str, password: str, *, reset_two_factor: bool) -> bool:
    """True when a second factor was removed."""
    with database.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise CommandError("no account with this email")
        user.password_hash = hash_password(password)
        user.token_version += 1  # signed out everywhere
        audit(session, None, "user.password_reset", f"user:{user.id}", {"via": "cli"})
        removed = False
        if reset_two_factor:
            removed = remove_second_factor(session, user, by=None, via="cli")
        return removed


def run(args: argparse.Namespace, settings: Settings) -> int:
    database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        password = read_password()
        if args.command == "create-user":
            user_id = create_user(database, args.email, args.role, args.name, password)
            print(f"account created: user:{user_id} ({args.role})")
        else:
            removed = reset_password(database, args.email, password, reset_two_factor=args.reset_two_factor)
            print("password changed; every session of the account is signed out"
                  + ("; two-factor sign-in removed (the account enrols again at its next login)" if removed else ""))
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0
