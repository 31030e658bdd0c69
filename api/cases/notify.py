"""Delivers the notification outbox to the on-call Telegram group and runs the escalation timer.

Texts carry level, category, channel and a console link: never a user id, and none of the child's
words unless TELEGRAM_ALERT_EXCERPT is true (Telegram's servers are a third party abroad; the
counselor reads the message in the console, behind its sign-in and audit log).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import CursorResult, and_, or_, select, update

from api.auth.models import CASE_ROLES
from api.cases.events import EventBroker
from api.cases.models import Case, CaseStatus, Notification, NotificationStatus
from api.cases.routing import Alert, escalate_routes, holds_back_reminders, route_new_case
from api.cases.service import case_summary, queue_notification
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.db.outbox import claim_due
from api.labels import CHANNELS, category_label
from api.messaging.risk import RiskLevel
from api.metrics import GatewayMetrics
from api.security.crypto import Crypto
from api.settings import Settings
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)

LEVEL_LABELS: dict[str, str] = {
    RiskLevel.CONCERN: "Cần theo dõi", RiskLevel.HIGH: "NGHIÊM TRỌNG", RiskLevel.IMMINENT: "KHẨN CẤP",
}
# Vietnamese names of the case categories a group alert shows (same wording as the consoles).
KIND_TITLES = {
    "new_case": "🔔 Ca mới cần tư vấn viên",
    "level_up": "⬆️ Mức rủi ro của ca tăng",
    "reminder": "⏰ Chưa ai nhận ca",
    "supervisor_alert": "🚨 Báo giám sát: ca chưa có người nhận",
    "accepted": "✅ Ca đã có tư vấn viên nhận",
    "referral_overdue": "📅 Chuyển tuyến quá hạn theo dõi",
}
_MAX_ATTEMPTS = 10
_SEND_LEASE_SECONDS = 60


def notification_text(note: Notification, crypto: Crypto, console_url: str, waiting_minutes: int | None,
                      *, with_excerpt: bool = False) -> str:
    payload = note.payload or {}
    level = str(payload.get("level") or "")
    category = str(payload.get("category") or "")
    lines = [
        f"{KIND_TITLES.get(note.kind, 'Thông báo ca')} #{note.case_id}",
        f"Mức: {LEVEL_LABELS.get(level, level)}",
        f"Chủ đề: {category_label(category)}",
        f"Kênh: {CHANNELS.get(payload.get('channel') or '', payload.get('channel') or '?')}",
    ]
    if waiting_minutes is not None:
        lines.append(f"Đã chờ: {waiting_minutes} phút")
    if with_excerpt and payload.get("excerpt_encrypted"):
        lines.append(f"Trích: “{crypto.decrypt(payload['excerpt_encrypted'])}”")
    lines.append(f"Mở bảng điều khiển: {console_url}#case-{note.case_id}")
    return "\n".join(lines)


def escalation_minutes(settings: Settings, level: str) -> int:
    return settings.escalation_minutes_imminent if level == RiskLevel.IMMINENT else settings.escalation_minutes_high


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


class CaseNotifier:
    """Background service: send pending notifications, re-notify overdue cases."""

    def __init__(self, gate: WriteGate, settings: Settings, crypto: Crypto, broker: EventBroker,
                 http: httpx.AsyncClient | None = None, *, tick_seconds: float = 5.0,
                 metrics: GatewayMetrics | None = None) -> None:
        self.gate = gate
        self.settings = settings
        self.crypto = crypto
        self.broker = broker
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self.tick_seconds = tick_seconds
        self.metrics = metrics or GatewayMetrics()
        self._task = PeriodicTask("case-notifier", self._round, tick_seconds, on_error=self._round_failed)

    @property
    def console_url(self) -> str:
        return self.settings.public_base_url.rstrip("/") + "/console"

    def wake(self) -> None:
        """Thread-safe nudge (called after a commit that queued notifications)."""
        self._task.wake()

    async def start(self) -> CaseNotifier:
        self._task.start()
        return self

    async def stop(self) -> None:
        await self._task.stop()
        await self.http.aclose()

    async def _round(self) -> None:
        await self.route_alerts()
        await self.check_overdue()
        await self.send_due()

    @staticmethod
    def _round_failed(exc: Exception) -> None:
        # Database down: keep going, the rows wait in the outbox.
        log.warning("case notifier pass failed: %s", type(exc).__name__)

    def _chat_for(self, target: str) -> str:
        if target == "telegram_supervisors":
            return self.settings.telegram_supervisor_chat_id or self.settings.telegram_counselor_chat_id
        return self.settings.telegram_counselor_chat_id

    async def send_due(self) -> int:
        now = utcnow()
        due_condition = and_(Notification.status == NotificationStatus.PENDING,
                             or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
        async with self.gate.transaction() as session:
            jobs: list[tuple[int, list[str], str, str]] = []  # id, chats, text, kind
            alerts: list[Alert] = []
            # Claimed with a lease: another gateway process skips them; a crash retries them later.
            lease = {Notification.next_attempt_at: now + timedelta(seconds=_SEND_LEASE_SECONDS)}
            for note in claim_due(session, Notification, due_condition, lease=lease, limit=20):
                case = session.get(Case, note.case_id)
                waited = None
                if note.kind in ("reminder", "supervisor_alert") and case and case.waiting_since:
                    waited = int((now - _aware(case.waiting_since)).total_seconds() // 60)
                chats = [self._chat_for(note.target)]
                if note.kind == "new_case" and note.target == "telegram_group" and case is not None:
                    chats, routed = route_new_case(session, self.settings, case, now, chats[0])  # on call first
                    alerts.extend(routed)
                text = notification_text(note, self.crypto, self.console_url, waited,
                                         with_excerpt=self.settings.telegram_alert_excerpt)
                jobs.append((note.id, chats, text, note.kind))
        self._publish(alerts)
        sent = 0
        for note_id, chats, text, kind in jobs:
            error = await self._deliver_all(chats, text)
            async with self.gate.transaction() as session:
                outgoing = session.get(Notification, note_id)
                if outgoing is None:
                    continue
                outgoing.attempts += 1
                if error is None:
                    outgoing.status, outgoing.sent_at, outgoing.last_error = "sent", utcnow(), None
                    sent += 1
                    self.metrics.notifications_sent.labels(kind).inc()
                elif error == "disabled":
                    outgoing.status, outgoing.last_error = "skipped", "telegram group not configured"
                elif outgoing.attempts >= _MAX_ATTEMPTS:
                    outgoing.status, outgoing.last_error = "failed", error[:300]
                    self.metrics.notifications_failed.labels(kind).inc()
                else:
                    outgoing.last_error = error[:300]
                    outgoing.next_attempt_at = utcnow() + timedelta(seconds=min(300, 2 ** outgoing.attempts))
        return sent

    def _publish(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.broker.publish(alert.payload, alert.roles)

    async def route_alerts(self) -> int:
        """Routed new cases nobody accepted: on to the supervisors, then to everyone (routing.py)."""
        async with self.gate.transaction() as session:
            alerts = escalate_routes(session, self.settings, self.crypto, utcnow())
        self._publish(alerts)
        if alerts:
            self.wake()
        return len(alerts)

    async def _deliver_all(self, chats: list[str], text: str) -> str | None:
        """Every chat gets the alert; the first error (if any) decides the retry."""
        errors = [error for chat in dict.fromkeys(chats) if (error := await self._deliver(chat, text))]
        return errors[0] if errors else None

    async def _deliver(self, chat_id: str, text: str) -> str | None:
        token = self.settings.telegram_bot_token.get_secret_value()
        if not token or not chat_id:
            return "disabled"
        url = f"{self.settings.telegram_api_base_url.rstrip('/')}/bot{token}/sendMessage"
        try:
            response = await self.http.post(url, json={"chat_id": chat_id, "text": text,
                                                       "disable_web_page_preview": True})
        except httpx.HTTPError as exc:
            return f"http error: {type(exc).__name__}"
        if response.status_code == 200:
            return None
        return f"telegram answered {response.status_code}"

    async def check_overdue(self) -> int:
        """Waiting cases nobody accepted in time: re-notify the group and alert supervisors."""
        now = utcnow()
        events: list[dict[str, Any]] = []
        async with self.gate.transaction() as session:
            waiting = list(session.scalars(select(Case).where(Case.status == CaseStatus.WAITING)))
            for case in waiting:
                if case.waiting_since is None:
                    continue
                limit = timedelta(minutes=escalation_minutes(self.settings, case.level))
                since = _aware(case.last_reminder_at or case.waiting_since)
                if now - since < limit or holds_back_reminders(session, case):
                    continue
                alert_supervisors = case.supervisor_alerted_at is None
                # Only one gateway process wins this reminder (optimistic on the reminder count).
                won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    update(Case).where(Case.id == case.id, Case.status == CaseStatus.WAITING,
                                       Case.reminders_sent == case.reminders_sent)
                    .values(reminders_sent=case.reminders_sent + 1, last_reminder_at=now,
                            supervisor_alerted_at=now if alert_supervisors else case.supervisor_alerted_at)
                    .execution_options(synchronize_session=False))
                if won.rowcount != 1:
                    continue
                session.refresh(case)
                queue_notification(session, case, "reminder", self.crypto, None)
                if alert_supervisors:
                    queue_notification(session, case, "supervisor_alert", self.crypto, None,
                                       target="telegram_supervisors")
                events.append({"type": "case_overdue", "case": case_summary(case, now),
                               "reminders_sent": case.reminders_sent})
        for payload in events:
            self.broker.publish(payload, frozenset(CASE_ROLES))
        return len(events)
