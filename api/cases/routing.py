"""Where a new case's alert goes when the helpline keeps an on-call roster.

1. When its "new case" alert is sent: to those on call (their own Telegram chats when the roster has
   them, else the counselor group; on the console, only their screens).
2. Nobody accepted after ALERT_SUPERVISOR_AFTER_SECONDS: the supervisors.
3. Still nobody after ALERT_EVERYONE_AFTER_SECONDS: everyone (the counselor group, every console);
   from then on the usual reminders (ESCALATION_MINUTES_*) repeat.

Without a roster (no shift stored) nothing here applies: alerts go to the group at once, as always.
With a roster but nobody on call, the alert goes to everyone and the supervisors at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from api.auth.models import CASE_ROLES
from api.cases.models import Case, CaseStatus
from api.cases.ops_models import CaseAlertRoute
from api.cases.roster import on_call_user_ids, roster_configured, telegram_chats_of
from api.cases.service import case_summary, queue_notification
from api.security.crypto import Crypto
from api.settings import Settings

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


def user_role_token(user_id: int) -> str:
    """The event-stream "role" only this person's consoles hold (events for one person)."""
    return f"user:{user_id}"


@dataclass
class Alert:
    """A console alert to publish after commit: the event and who gets it."""

    payload: dict[str, Any]
    roles: frozenset[str]


def _alert(case: Case, stage: str, roles: frozenset[str], now: datetime) -> Alert:
    return Alert({"type": "case_alert", "stage": stage, "case": case_summary(case, now)}, roles)


def route_new_case(session: Session, settings: Settings, case: Case, now: datetime,
                   group_chat: str) -> tuple[list[str], list[Alert]]:
    """The Telegram chats for a case's first alert, and the console alerts that go with it (none
    when the alert is sent again after a failure: the route was taken the first time)."""
    route = session.get(CaseAlertRoute, case.id)
    alerts: list[Alert] = []
    if route is None:
        if not roster_configured(session):
            return [group_chat], []
        route = _open_route(session, settings, case, now)
        alerts.append(_alert(case, route.stage, _roles_of(route), now))
    if route.on_call_user_ids and route.supervisor_at is None:
        return telegram_chats_of(session, route.on_call_user_ids) or [group_chat], alerts
    supervisors = settings.telegram_supervisor_chat_id
    return [group_chat] + ([supervisors] if supervisors and supervisors != group_chat else []), alerts


def _open_route(session: Session, settings: Settings, case: Case, now: datetime) -> CaseAlertRoute:
    on_call = on_call_user_ids(session, settings.timezone, now)
    if on_call:
        route = CaseAlertRoute(case_id=case.id, stage="on_call", on_call_user_ids=on_call, routed_at=now)
    else:  # nobody on call: everyone and the supervisors at once
        route = CaseAlertRoute(case_id=case.id, stage="everyone", on_call_user_ids=[], routed_at=now,
                               supervisor_at=now, everyone_at=now)
    session.add(route)
    session.flush()
    return route


def _roles_of(route: CaseAlertRoute) -> frozenset[str]:
    if route.stage == "on_call":
        return frozenset(user_role_token(user_id) for user_id in route.on_call_user_ids)
    return frozenset(CASE_ROLES)


def holds_back_reminders(session: Session, case: Case) -> bool:
    """A routed case gets the usual reminders only once everyone has been told."""
    route = session.get(CaseAlertRoute, case.id)
    return route is not None and route.stage != "everyone"


def escalate_routes(session: Session, settings: Settings, crypto: Crypto, now: datetime) -> list[Alert]:
    """Move routed cases nobody accepted to the next stage; the notifications are queued here."""
    alerts: list[Alert] = []
    routes = session.execute(select(CaseAlertRoute, Case).join(Case, Case.id == CaseAlertRoute.case_id).where(
        CaseAlertRoute.stage != "everyone", Case.status == CaseStatus.WAITING))
    for route, case in routes:
        waited = now - _aware(route.routed_at, now)
        if route.stage == "on_call" and waited >= timedelta(seconds=settings.alert_supervisor_after_seconds):
            if _advance(session, route, "on_call", "supervisor", now):
                case.supervisor_alerted_at = case.supervisor_alerted_at or now  # no second supervisor alert
                queue_notification(session, case, "supervisor_alert", crypto, None, target="telegram_supervisors")
                alerts.append(_alert(case, "supervisor", SUPERVISOR_ROLES, now))
        elif route.stage == "supervisor" and waited >= timedelta(seconds=settings.alert_everyone_after_seconds):
            if _advance(session, route, "supervisor", "everyone", now):
                case.reminders_sent += 1
                case.last_reminder_at = now
                queue_notification(session, case, "reminder", crypto, None)
                alerts.append(_alert(case, "everyone", frozenset(CASE_ROLES), now))
    return alerts


def _advance(session: Session, route: CaseAlertRoute, current: str, stage: str, now: datetime) -> bool:
    """Only one gateway process moves a route on (conditional update on its stage)."""
    column = "supervisor_at" if stage == "supervisor" else "everyone_at"
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(CaseAlertRoute).where(CaseAlertRoute.case_id == route.case_id, CaseAlertRoute.stage == current)
        .values(stage=stage, **{column: now}).execution_options(synchronize_session=False))
    if won.rowcount == 1:
        session.refresh(route)
        return True
    return False


def _aware(value: datetime, now: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)
