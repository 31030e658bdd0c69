"""Whether counselors are on duty now: the on-call roster when there is one (roster.py), else
OFFICE_HOURS like "07:30-21:30" or "21:00-07:00,12:00-13:00"."""
from __future__ import annotations

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from api.cases.roster import on_call_user_ids, roster_configured
from api.settings import Settings

log = logging.getLogger(__name__)


def _parse_clock(text: str) -> time | None:
    hours, minutes = (int(part) for part in text.strip().split(":", 1))
    if hours == 24 and minutes == 0:
        return None  # end of day
    return time(hours, minutes)


def within_office_hours(spec: str, tz_name: str, now: datetime) -> bool:
    """True when `now` falls in any range of `spec` (local time in tz_name). Empty spec = always.

    A malformed setting counts as "out of hours": the child then hears the honest message (call 111
    now) instead of a promise nobody may keep, and the turn never fails because of it.
    """
    if not spec.strip():
        return True
    try:
        return _within(spec, tz_name, now)
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        log.warning("OFFICE_HOURS or TIMEZONE is malformed; treating the time as out of hours")
        return False


def _within(spec: str, tz_name: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(tz_name)).time()
    for chunk in spec.split(","):
        if not chunk.strip():
            continue
        start_text, end_text = chunk.split("-", 1)
        start = _parse_clock(start_text) or time(0, 0)
        end = _parse_clock(end_text)
        if end is None:
            if local >= start:
                return True
        elif start <= end:
            if start <= local < end:
                return True
        elif local >= start or local < end:  # overnight range
            return True
    return False


def on_duty_now(session: Session, settings: Settings, now: datetime) -> bool:
    """Someone is on duty: with a roster, someone is on call now; without one, office hours."""
    if roster_configured(session):
        try:
            return bool(on_call_user_ids(session, settings.timezone, now))
        except (KeyError, ZoneInfoNotFoundError):
            log.warning("TIMEZONE is malformed; treating the time as out of hours")
            return False
    return within_office_hours(settings.office_hours, settings.timezone, now)
