"""The on-call roster: GET/PUT /api/v1/roster, who is on call when, the handoff text it decides,
and new-case alerts routed to those on call, then the supervisors, then everyone."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.auth.models import AuditLog
from api.cases.ops_models import CaseAlertRoute
from api.cases.roster import on_call_user_ids
from api.cases.service import HANDOFF_FREE, HANDOFF_OFFLINE, handoff_text
from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.staff import COUNSELOR_GROUP
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio
SUPERVISOR_CHAT = "-1009990001"
LAN_CHAT = "7001"
EVERY_DAY = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]


def _all_week(user_id: int) -> list[dict[str, Any]]:
    return [shift | {"user_id": user_id} for shift in EVERY_DAY]


def _on_call(app: FastAPI, at: datetime) -> list[int]:
    with app.state.context.database.session() as session:
        return on_call_user_ids(session, "Asia/Ho_Chi_Minh", at)


async def test_roster_data_on_call_times_and_validation(settings: Settings) -> None:
    async with served(settings) as http:
        app = app_of(http)
        lan, lan_auth = staff(app, "lan@example.vn", "counselor")
        minh, _ = staff(app, "minh@example.vn", "counselor")
        hoa, hoa_auth = staff(app, "hoa@example.vn", "supervisor")
        roster = {
            # Lan: Mondays 08:00–17:00; Minh: Monday night 22:00 → Tuesday 06:00 (local time).
            "weekly": [{"user_id": lan, "weekday": 0, "start": "08:00", "end": "17:00"},
                       {"user_id": minh, "weekday": 0, "start": "22:00", "end": "06:00"}],
            # Lan is off on Monday 2026-12-07 from noon; Hoa covers that afternoon.
            "exceptions": [{"user_id": lan, "date": "2026-12-07", "kind": "off", "start": "12:00", "end": "24:00"},
                           {"user_id": hoa, "date": "2026-12-07", "kind": "extra", "start": "12:00", "end": "18:00"}],
            "contacts": [{"user_id": lan, "telegram_chat_id": LAN_CHAT}],
        }
        assert (await http.put("/api/v1/roster", headers=lan_auth, json=roster)).status_code == 403
        saved = await http.put("/api/v1/roster", headers=hoa_auth, json=roster)
        assert saved.status_code == 200, saved.text
        got = (await http.get("/api/v1/roster", headers=lan_auth)).json()
        assert got["weekly"] == [r | {} for r in sorted(roster["weekly"], key=lambda r: r["start"])]
        assert {(e["user_id"], e["kind"]) for e in got["exceptions"]} == {(lan, "off"), (hoa, "extra")}
        assert got["contacts"] == [{"user_id": lan, "telegram_chat_id": LAN_CHAT}]

        local = "+07:00"
        assert _on_call(app, datetime.fromisoformat(f"2026-11-30T09:00{local}")) == [lan]  # a Monday
        assert _on_call(app, datetime.fromisoformat(f"2026-11-30T17:00{local}")) == []  # the end is not in
        assert _on_call(app, datetime.fromisoformat(f"2026-12-01T05:59{local}")) == [minh]  # overnight
        assert _on_call(app, datetime.fromisoformat(f"2026-12-07T11:00{local}")) == [lan]
        assert _on_call(app, datetime.fromisoformat(f"2026-12-07T13:00{local}")) == [hoa]  # Lan off, Hoa extra
        assert _on_call(app, datetime.fromisoformat(f"2026-12-08T03:00{local}")) == [minh]

        for bad in ({"weekly": [{"user_id": lan, "weekday": 7, "start": "08:00", "end": "17:00"}]},
                    {"weekly": [{"user_id": lan, "weekday": 1, "start": "25:00", "end": "17:00"}]},
                    {"exceptions": [{"user_id": lan, "date": "2026-02-30", "kind": "off"}]},
                    {"exceptions": [{"user_id": lan, "date": "2026-02-03", "kind": "holiday"}]},
                    {"contacts": [{"user_id": lan, "telegram_chat_id": "@lan"}]},
                    {"weekly": [{"user_id": 99999, "weekday": 1, "start": "08:00", "end": "17:00"}]}):
            response = await http.put("/api/v1/roster", headers=hoa_auth, json=bad)
            assert response.status_code == 422, bad
        assert len((await http.get("/api/v1/roster", headers=hoa_auth)).json()["weekly"]) == 2  # nothing lost
        with app.state.context.database.session() as session:
            actions = list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("roster.%"))))
        assert actions.count("roster.update") == 1 and actions.count("roster.view") == 2


async def test_handoff_text_follows_the_roster(settings: Settings) -> None:
    async with served(settings, office_hours="00:00-24:00") as http:
        app = app_of(http)
        lan, lan_auth = staff(app, "lan@example.vn", "counselor")
        hoa, hoa_auth = staff(app, "hoa@example.vn", "supervisor")
        await http.get("/api/v1/roster", headers=lan_auth)  # Lan's console is open: she is online
        settings_now = app.state.context.settings

        def text() -> Any:
            with app.state.context.database.session() as session:
                return handoff_text(session, settings_now, datetime.now(UTC))

        assert text() == HANDOFF_FREE  # no roster: office hours (always), Lan online and free
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
        roster = {"weekly": _all_week(hoa), "exceptions": [{"user_id": hoa, "date": today, "kind": "off"}]}
        assert (await http.put("/api/v1/roster", headers=hoa_auth, json=roster)).status_code == 200
        # A roster with nobody on call now (Hoa is off today): out of hours, whatever OFFICE_HOURS says.
        assert _on_call(app, datetime.now(UTC)) == []
        assert text() == HANDOFF_OFFLINE
        assert (await http.put("/api/v1/roster", headers=hoa_auth,
                               json={"weekly": _all_week(lan)})).status_code == 200
        assert text() == HANDOFF_FREE


def _drain(subscription: Any, into: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while not subscription._queue.empty():
        event = subscription._queue.get_nowait()
        if event.get("type") == "case_alert":
            into.append(event)
    return into


async def test_alerts_go_on_call_then_supervisor_then_everyone(settings: Settings,
                                                               fake_telegram: FakeTelegram) -> None:
    async with served(settings, telegram_supervisor_chat_id=SUPERVISOR_CHAT, alert_supervisor_after_seconds=3.0,
                      alert_everyone_after_seconds=6.0) as http:
        # Seconds, not tenths: the test must see the on-call alert and accept inside the first step
        # even on a loaded machine.
        app = app_of(http)
        lan, lan_auth = staff(app, "lan@example.vn", "counselor")
        minh, _ = staff(app, "minh@example.vn", "counselor")
        hoa, hoa_auth = staff(app, "hoa@example.vn", "supervisor")
        roster = {"weekly": _all_week(lan), "contacts": [{"user_id": lan, "telegram_chat_id": LAN_CHAT}]}
        assert (await http.put("/api/v1/roster", headers=hoa_auth, json=roster)).status_code == 200
        broker = app.state.context.case_events
        inboxes = {name: broker.open(frozenset({role, f"user:{uid}"}))
                   for name, role, uid in (("lan", "counselor", lan), ("minh", "counselor", minh),
                                           ("hoa", "supervisor", hoa))}
        seen: dict[str, list[dict[str, Any]]] = {name: [] for name in inboxes}

        accepted = disclose(app, "telegram", "1", "a", "chú ấy sờ em", "high", "disclose_sexual_abuse")
        await eventually(lambda: fake_telegram.sent(LAN_CHAT), what="the on-call alert")
        assert (await http.post(f"/api/v1/cases/{accepted}/accept", headers=lan_auth)).status_code == 200

        unanswered = disclose(app, "telegram", "2", "b", "bố đánh em", "high", "disclose_physical_abuse")
        await eventually(lambda: len(fake_telegram.sent(LAN_CHAT)) >= 2, what="the second on-call alert")
        assert not [m for m in fake_telegram.sent(COUNSELOR_GROUP) if "Ca mới" in m["text"]]
        assert not fake_telegram.sent(SUPERVISOR_CHAT)

        await eventually(lambda: fake_telegram.sent(SUPERVISOR_CHAT), what="the supervisor alert")
        await eventually(lambda: [m for m in fake_telegram.sent(COUNSELOR_GROUP) if f"#{unanswered}" in m["text"]],
                         what="everyone told")
        with app.state.context.database.session() as session:
            routes = {r.case_id: r for r in session.scalars(select(CaseAlertRoute))}
        route = routes[unanswered]
        assert route.stage == "everyone" and route.on_call_user_ids == [lan]
        assert route.supervisor_at is not None and route.everyone_at is not None
        assert (route.supervisor_at - route.routed_at).total_seconds() >= 3.0
        assert (route.everyone_at - route.routed_at).total_seconds() >= 6.0
        assert routes[accepted].stage == "on_call"  # accepted in time: nobody else was bothered
        assert all(f"#{accepted}" not in m["text"] for m in fake_telegram.sent(SUPERVISOR_CHAT))

        for name in inboxes:
            _drain(inboxes[name], seen[name])
        stages = {name: [(e["case"]["id"], e["stage"]) for e in events] for name, events in seen.items()}
        assert stages["lan"] == [(accepted, "on_call"), (unanswered, "on_call"), (unanswered, "everyone")]
        assert stages["minh"] == [(unanswered, "everyone")]
        assert stages["hoa"] == [(unanswered, "supervisor"), (unanswered, "everyone")]
