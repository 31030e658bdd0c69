"""Background work of referrals: sends the e-mails waiting to go (retried with backoff) and alerts
the case owner and the supervisors once when a referral's follow-up date has passed.

The alert uses the case notifications (api/cases): a `referral_overdue` console event for the
case's owner and the supervisors, and a `referral_overdue` row of the notification outbox for the
supervisors' Telegram group. Rows are claimed with a conditional update, so two gateway processes
never send one e-mail or one alert twice."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_

from api.auth.models import CASE_ROLES, User
from api.cases.events import EventBroker, publish_after_commit
from api.cases.models import Case
from api.cases.service import case_summary, queue_notification
from api.casework import mailer
from api.casework.common import case_reference
from api.casework.models import Referral
from api.casework.referrals import local_today, message_lines, overdue_query
from api.db.after_commit import call_after_commit
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.db.outbox import claim_due
from api.security.crypto import Crypto
from api.settings import Settings
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 6
EMAIL_LEASE_SECONDS = 120
SUPERVISOR_TARGET = "telegram_supervisors"


class ReferralFollowUp:
    def __init__(self, gate: WriteGate, settings: Settings, crypto: Crypto, broker: EventBroker | None,
                 wake_notifier: Any = None) -> None:
        self.gate = gate
        self.settings = settings
        self.crypto = crypto
        self.broker = broker
        self.wake_notifier = wake_notifier or (lambda: None)
        self._task = PeriodicTask("referral-follow-up", self._round, settings.referral_check_seconds,
                                  on_error=self._round_failed)

    async def start(self) -> ReferralFollowUp:
        self._task.start()
        return self

    async def stop(self) -> None:
        await self._task.stop()

    def wake(self) -> None:
        """Thread-safe: an e-mail is waiting, or a due date changed."""
        self._task.wake()

    @property
    def alive(self) -> bool:
        return self._task.alive

    async def _round(self) -> None:
        await self.alert_overdue()
        await self.send_emails()

    @staticmethod
    def _round_failed(exc: Exception) -> None:
        log.warning("referral follow-up pass failed: %s", type(exc).__name__)

    async def alert_overdue(self) -> int:
        """Once per referral (a new due date re-arms it): console event and supervisors' alert."""
        today = local_today(self.settings)
        alerted = 0
        async with self.gate.transaction() as session:
            due = list(session.scalars(overdue_query(today).where(Referral.overdue_alerted_at.is_(None)).limit(100)))
            for referral in due:
                case = session.get(Case, referral.case_id)
                if case is None:
                    continue
                referral.overdue_alerted_at = utcnow()
                note = queue_notification(session, case, "referral_overdue", self.crypto, None,
                                          target=SUPERVISOR_TARGET)
                note.payload = {**note.payload, "referral_id": referral.id, "due_date": referral.due_date.isoformat()}
                owners = sorted({u for u in (case.assigned_user_id, referral.created_by) if u is not None})
                publish_after_commit(session, self.broker, {
                    "type": "referral_overdue", "referral_id": referral.id, "case_id": case.id,
                    "reference": case_reference(case.id), "recipient_name": referral.recipient_name,
                    "due_date": referral.due_date.isoformat(), "owner_user_ids": owners,
                    "case": case_summary(case),
                }, frozenset(CASE_ROLES))
                alerted += 1
            if alerted:
                call_after_commit(session, self.wake_notifier)
        return alerted

    async def send_emails(self) -> int:
        if not mailer.smtp_configured(self.settings):
            return 0
        sent = 0
        for referral_id, message in await self._claim_emails():
            error = None
            try:
                await asyncio.to_thread(mailer.send_message, self.settings, message)
            except Exception as exc:  # SMTP refused, unreachable, timed out: retried later
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
                log.warning("referral e-mail %s not sent (%s)", referral_id, type(exc).__name__)
            async with self.gate.transaction() as session:
                referral = session.get(Referral, referral_id)
                if referral is None:
                    continue
                referral.email_attempts += 1
                if error is None:
                    referral.email_status, referral.email_error = "sent", None
                    sent += 1
                elif referral.email_attempts >= MAX_EMAIL_ATTEMPTS:
                    referral.email_status, referral.email_error = "failed", error
                else:
                    referral.email_error = error
                    referral.email_next_at = utcnow() + timedelta(seconds=min(3600, 30 * 2 ** referral.email_attempts))
        return sent

    async def _claim_emails(self) -> list[tuple[int, Any]]:
        now = utcnow()
        waiting = and_(Referral.email_status == "pending",
                       or_(Referral.email_next_at.is_(None), Referral.email_next_at <= now))
        jobs: list[tuple[int, Any]] = []
        async with self.gate.transaction() as session:
            lease = {Referral.email_next_at: now + timedelta(seconds=EMAIL_LEASE_SECONDS)}
            for referral in claim_due(session, Referral, waiting, lease=lease, limit=10):
                assert referral.email is not None
                author = session.get(User, referral.created_by) if referral.created_by else None
                counselor = (author.display_name or f"#{author.id}") if author else ""
                subject = f"[{case_reference(referral.case_id)}] Đề nghị phối hợp hỗ trợ trẻ em"
                jobs.append((referral.id, mailer.build_message(self.settings, referral.email, subject,
                                                               message_lines(referral, self.crypto, counselor))))
        return jobs
