"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238, via pyotp) and recovery codes.

Who: an account that enrolled is always asked for a code; with TWO_FACTOR_REQUIRED=true the roles
that read disclosures (counselor, supervisor, admin) must enrol before they get a session.
The secret is stored encrypted (`Crypto`, rotated with the other keys); a code is accepted once
(its time step is remembered); recovery codes are argon2 hashes, each used once.
The routes are in two_factor_routes.py; docs/privacy-access.md describes the flow.
"""
from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime
from typing import Literal

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import CASE_ROLES, User
from api.auth.passwords import hash_password
from api.auth.two_factor_models import RecoveryCode, UserTwoFactor
from api.db.base import utcnow
from api.settings import Settings

ISSUER = "Chatbot bảo vệ trẻ em"
REQUIRED_ROLES = CASE_ROLES  # the roles that read disclosures
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread
_RECOVERY_GROUPS, _GROUP_LENGTH = 3, 4
LOOKUP_LENGTH = _GROUP_LENGTH
CODE_STEP = Literal["code", "enrol"]


def generate_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_url(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URL (the consoles' CSP allows data: images)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def is_totp_code(code: str) -> bool:
    digits = "".join(code.split())
    return len(digits) == 6 and digits.isascii() and digits.isdigit()


def accepted_step(secret: str, code: str, last_used_step: int | None, now: datetime | None = None) -> int | None:
    """The time step `code` belongs to (now, or one step either side for clock drift) if it was never
    used before; None otherwise."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret)
    digits = "".join(code.split())
    current = totp.timecode(now or utcnow())
    for step in (current - 1, current, current + 1):
        if (last_used_step is None or step > last_used_step) and hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def normalise_recovery_code(code: str) -> str:
    return "".join(char for char in code.upper() if char.isalnum())


def new_recovery_codes() -> list[str]:
    """Codes shown once, e.g. "K7QD-M2XA-PF9R"."""
    length = _RECOVERY_GROUPS * _GROUP_LENGTH
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(length))
        codes.append("-".join(raw[i:i + _GROUP_LENGTH] for i in range(0, length, _GROUP_LENGTH)))
    return codes


def recovery_rows(user_id: int, codes: list[str]) -> list[RecoveryCode]:
    """Rows for new codes (slow: one argon2 hash each; call off the event loop)."""
    return [RecoveryCode(user_id=user_id, lookup=normalise_recovery_code(code)[:LOOKUP_LENGTH],
                         code_hash=hash_password(normalise_recovery_code(code))) for code in codes]


def unused_recovery_code(session: Session, user_id: int, code: str) -> RecoveryCode | None:
    lookup = normalise_recovery_code(code)[:LOOKUP_LENGTH]
    return session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.lookup == lookup,
                                                     RecoveryCode.used_at.is_(None)).limit(1))


def recovery_codes_left(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(RecoveryCode)
                              .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0)


def two_factor_of(session: Session, user_id: int) -> UserTwoFactor | None:
    return session.get(UserTwoFactor, user_id)


def is_enrolled(session: Session, user_id: int) -> bool:
    record = two_factor_of(session, user_id)
    return record is not None and record.enrolled


def required_for(settings: Settings, user: User) -> bool:
    return settings.two_factor_required and user.role in REQUIRED_ROLES


def login_step(session: Session, settings: Settings, user: User) -> CODE_STEP | None:
    """What a correct password leads to: a code, enrolment first, or (None) a session at once."""
    if is_enrolled(session, user.id):
        return "code"
    return "enrol" if required_for(settings, user) else None


def clear_recovery_codes(session: Session, user_id: int) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def clear_two_factor(session: Session, user_id: int) -> bool:
    """Remove the secret and every recovery code (an admin's reset); True if there was one."""
    record = two_factor_of(session, user_id)
    clear_recovery_codes(session, user_id)
    if record is None:
        return False
    session.delete(record)
    return record.enrolled


def reset_two_factor(session: Session, user: User, *, by: User | None, via: str) -> bool:
    """An admin's reset for a lost phone: the second factor goes, the account is signed out
    everywhere and enrols again at its next login. Audited; True if one was enrolled."""
    removed = clear_two_factor(session, user.id)
    user.token_version += 1
    audit(session, by, "user.two_factor_reset", f"user:{user.id}", {"via": via, "was_enrolled": removed})
    return removed
