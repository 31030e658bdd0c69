"""The on-call roster as data: a weekly pattern plus dated exceptions (an extra shift, time off).

Times are the helpline's local clock (TIMEZONE). A shift whose end is before its start runs over
midnight into the next day; "24:00" ends at midnight. Whoever the roster names and is an active
counselor or supervisor is "on call"; with no roster at all, office hours decide (office_hours.py).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from api.auth.models import User
from api.cases.ops_models import OnCallContact, RosterShift

ON_CALL_ROLES = ("counselor", "supervisor")
MAX_SHIFTS = 500
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError("giờ phải có dạng HH:MM (00:00–24:00) / time must be HH:MM")
    return value


class WeeklyShift(BaseModel):
    user_id: int = Field(ge=1)
    weekday: int = Field(ge=0, le=6, description="0 = Monday (Thứ Hai) … 6 = Sunday (Chủ nhật)")
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock_format(cls, value: str) -> str:
        return _clock(value)


class DatedShift(BaseModel):
    user_id: int = Field(ge=1)
    date: date
    kind: str = Field(default="extra", description="extra: on call then too; off: not on call then")
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("start", "end")
    @classmethod
    def _clock_format(cls, value: str) -> str:
        return _clock(value)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in ("extra", "off"):
            raise ValueError("kind phải là extra hoặc off / kind must be extra or off")
        return value


class Contact(BaseModel):
    user_id: int = Field(ge=1)
    telegram_chat_id: str = Field(default="", max_length=64, pattern=r"^-?\d*$")


class Roster(BaseModel):
    weekly: list[WeeklyShift] = Field(default_factory=list)
    exceptions: list[DatedShift] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_too_long(self) -> Roster:
        if len(self.weekly) + len(self.exceptions) > MAX_SHIFTS:
            raise ValueError(f"tối đa {MAX_SHIFTS} ca trực / at most {MAX_SHIFTS} shifts")
        return self


def _time(text: str) -> time | None:
    """None for "24:00" (the end of the day)."""
    hours, minutes = (int(part) for part in text.split(":"))
    return None if hours == 24 else time(hours, minutes)


def _covers(start_text: str, end_text: str, day: date, moment: datetime) -> bool:
    """Whether the shift starting on `day` (local) covers the local `moment`."""
    zone = moment.tzinfo
    start = datetime.combine(day, _time(start_text) or time(0), zone)
    end_clock = _time(end_text)
    end = datetime.combine(day + timedelta(days=1), time(0), zone) if end_clock is None \
        else datetime.combine(day, end_clock, zone)
    if end <= start:  # overnight
        end += timedelta(days=1)
    return start <= moment < end


def roster_configured(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(RosterShift.id.is_not(None)))))


def _shift_covers(shift: RosterShift, local: datetime) -> bool:
    """Whether the shift covers `local`: one starting today, or yesterday and running overnight."""
    for day in (local.date() - timedelta(days=1), local.date()):
        starts_that_day = day.weekday() == shift.weekday if shift.kind == "weekly" else shift.day == day
        if starts_that_day and _covers(shift.starts, shift.ends, day, local):
            return True
    return False


def on_call_user_ids(session: Session, tz_name: str, now: datetime) -> list[int]:
    """Active counselors and supervisors the roster has on call at `now`: a weekly or extra shift
    covers it and no time off does."""
    local = now.astimezone(ZoneInfo(tz_name))
    covering = [shift for shift in session.scalars(select(RosterShift)) if _shift_covers(shift, local)]
    on_call = {s.user_id for s in covering if s.kind != "off"} - {s.user_id for s in covering if s.kind == "off"}
    if not on_call:
        return []
    active = session.scalars(select(User.id).where(User.id.in_(on_call), User.active.is_(True),
                                                   User.role.in_(ON_CALL_ROLES)))
    return sorted(active)


def telegram_chats_of(session: Session, user_ids: list[int]) -> list[str]:
    if not user_ids:
        return []
    chats = session.scalars(select(OnCallContact.telegram_chat_id).where(OnCallContact.user_id.in_(user_ids)))
    return [chat for chat in chats if chat]


def roster_as_data(session: Session) -> dict[str, Any]:
    shifts = session.scalars(select(RosterShift).order_by(RosterShift.kind, RosterShift.weekday, RosterShift.day,
                                                          RosterShift.starts, RosterShift.id))
    weekly: list[dict[str, Any]] = []
    exceptions: list[dict[str, Any]] = []
    for shift in shifts:
        if shift.kind == "weekly":
            weekly.append({"user_id": shift.user_id, "weekday": shift.weekday, "start": shift.starts,
                           "end": shift.ends})
        else:
            exceptions.append({"user_id": shift.user_id, "date": shift.day.isoformat() if shift.day else None,
                               "kind": shift.kind, "start": shift.starts, "end": shift.ends})
    contacts = [{"user_id": c.user_id, "telegram_chat_id": c.telegram_chat_id}
                for c in session.scalars(select(OnCallContact).order_by(OnCallContact.user_id))]
    return {"weekly": weekly, "exceptions": exceptions, "contacts": contacts}


def unknown_people(session: Session, roster: Roster) -> list[int]:
    """User ids the roster names that are not active counselors or supervisors."""
    named = {s.user_id for s in roster.weekly} | {s.user_id for s in roster.exceptions} \
        | {c.user_id for c in roster.contacts}
    if not named:
        return []
    valid = set(session.scalars(select(User.id).where(User.id.in_(named), User.active.is_(True),
                                                      User.role.in_(ON_CALL_ROLES))))
    return sorted(named - valid)


def replace_roster(session: Session, roster: Roster) -> None:
    """The roster is replaced whole (what the console shows is what is stored)."""
    session.execute(delete(RosterShift))
    session.execute(delete(OnCallContact))
    for weekly in roster.weekly:
        session.add(RosterShift(user_id=weekly.user_id, kind="weekly", weekday=weekly.weekday,
                                starts=weekly.start, ends=weekly.end))
    for dated in roster.exceptions:
        session.add(RosterShift(user_id=dated.user_id, kind=dated.kind, day=dated.date,
                                starts=dated.start, ends=dated.end))
    for contact in {c.user_id: c for c in roster.contacts}.values():
        session.add(OnCallContact(user_id=contact.user_id, telegram_chat_id=contact.telegram_chat_id))
