"""What is waiting, read from the database: queue depths, failed and parked rows, waiting cases.

Used at scrape time by the Prometheus collector below (so the figures are the database's, shared by
every gateway process) and by the admin view of failed rows (api/ops/failed.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cases.models import Case, CaseStatus
from api.db.base import utcnow
from api.db.session import Database
from api.messaging.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus

log = logging.getLogger(__name__)

QueueModel = type[InboundMessage] | type[OutboundMessage]
QUEUES: dict[str, tuple[QueueModel, Any, tuple[str, ...]]] = {
    # queue: (model, time column, statuses reported)
    "inbound": (InboundMessage, InboundMessage.received_at, (InboundStatus.PENDING, InboundStatus.PROCESSING,
                                                           InboundStatus.FAILED)),
    "outbox": (OutboundMessage, OutboundMessage.created_at, (OutboundStatus.PENDING, OutboundStatus.SENDING,
                                                            OutboundStatus.FAILED)),
}


def age_seconds(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


@dataclass
class QueueState:
    """Rows by status (pending, in flight, failed) and the age of the oldest unfinished one."""

    by_status: dict[str, int] = field(default_factory=dict)
    oldest_unfinished_seconds: float = 0.0


def queue_states(session: Session) -> dict[str, QueueState]:
    now = utcnow()
    states: dict[str, QueueState] = {}
    for name, (model, moment, statuses) in QUEUES.items():
        state = QueueState(by_status={str(status): 0 for status in statuses})
        rows = session.execute(select(model.status, func.count(), func.min(moment))
                               .where(model.status.in_(statuses)).group_by(model.status))
        oldest: list[datetime] = []
        for status, count, first in rows:
            state.by_status[status] = int(count)
            if status != "failed" and first is not None:
                oldest.append(first)
        state.oldest_unfinished_seconds = max((age_seconds(first, now) for first in oldest), default=0.0)
        states[name] = state
    return states


def waiting_cases(session: Session) -> tuple[dict[str, int], float]:
    """Cases waiting for a counselor by level, and the longest wait in seconds."""
    now = utcnow()
    by_level: dict[str, int] = {}
    longest = 0.0
    rows = session.execute(select(Case.level, func.count(), func.min(Case.waiting_since))
                           .where(Case.status == CaseStatus.WAITING).group_by(Case.level))
    for level, count, since in rows:
        by_level[level] = int(count)
        longest = max(longest, age_seconds(since, now))
    return by_level, longest


class DatabaseStateCollector(Collector):
    """Prometheus collector: queue and case gauges computed from the database at each scrape."""

    def __init__(self, database: Callable[[], Database | None]) -> None:
        self.database = database  # None until the app has started

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # computed at scrape time; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("gateway_scrape_database_up", "1 when the database answered this scrape.")
        database = self.database()
        try:
            if database is None:
                raise RuntimeError("not started")
            with database.session() as session:
                queues = queue_states(session)
                cases, longest = waiting_cases(session)
        except Exception as exc:
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _queue_families(queues)
        waiting = GaugeMetricFamily("gateway_cases_waiting", "Cases waiting for a counselor, by risk level.",
                                    labels=["level"])
        for level, count in sorted(cases.items()):
            waiting.add_metric([level], count)
        yield waiting
        yield GaugeMetricFamily("gateway_cases_longest_wait_seconds",
                                "How long the longest-waiting case has waited for a counselor.", value=longest)


def _queue_families(queues: dict[str, QueueState]) -> Iterator[GaugeMetricFamily]:
    depth = GaugeMetricFamily("gateway_queue_depth",
                              "Rows by queue (inbound, outbox) and status (pending, processing/sending, failed).",
                              labels=["queue", "status"])
    oldest = GaugeMetricFamily("gateway_queue_oldest_age_seconds",
                               "Age of the oldest unfinished (pending or in-flight) row of each queue.",
                               labels=["queue"])
    for name, state in queues.items():
        for status, count in state.by_status.items():
            depth.add_metric([name, status], count)
        oldest.add_metric([name], state.oldest_unfinished_seconds)
    yield depth
    yield oldest
