"""The purge: applies the retention policy in short batches (api/privacy/policy.py).

Each rule selects a batch of ids (in id order, so a dry run pages through exactly what a real run
would take), then deletes it with everything hanging from it in one short transaction, re-checking
the rule inside that transaction. Trackers in Rasa's store go before the conversation rows: if the
database step then fails, the next run finds the conversation again; the reverse would leave a
tracker nothing points to. A case under legal hold, a conversation with an open or held case, a
subscribed conversation and the tombstones are never taken. Every real run is written to the audit log.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.auth.models import AuditLog
from api.cases.models import Case, CaseStatus, Notification
from api.content.models import BroadcastDelivery, Subscriber
from api.db.base import utcnow
from api.db.session import Database
from api.messaging.models import Conversation, InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from api.privacy.erasure import TOMBSTONE_SUFFIX, anonymise_cases
from api.privacy.models import LegalHold
from api.privacy.policy import RetentionPolicy
from api.privacy.rows import table, walk
from api.privacy.trackers import TrackerStore

log = logging.getLogger(__name__)
T = TypeVar("T")
# Runs fn(session) in one committed transaction (the app: through the write gate; the CLI: directly).
Transact = Callable[[Callable[[Session], T]], Awaitable[T]]
TRACKER_TABLE = "rasa_tracker"


@dataclass
class PurgeReport:
    dry_run: bool
    by_rule: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, rule: str, counts: Counter[str]) -> None:
        self.by_rule.setdefault(rule, Counter()).update(counts)

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_rule.values():
            total.update(counts)
        return total

    def lines(self) -> list[str]:
        rows = [f"{rule:<15} {name:<32} {count}" for rule, counts in self.by_rule.items()
                for name, count in sorted(counts.items()) if count]
        return rows or ["nothing to purge"]

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rules": {rule: dict(counts) for rule, counts in self.by_rule.items()}}


@contextmanager
def rolled_back(database: Database) -> Iterator[Session]:
    """One write transaction that is always rolled back (a dry run)."""
    with database.sessionmaker() as session:
        database.begin_write(session)
        try:
            yield session
        finally:
            session.rollback()


def _held_case_ids() -> Select[Any]:
    return select(LegalHold.case_id)


def _keeps_everything(conversation_id: Any) -> ColumnElement[bool]:
    """The conversation has a case still open or under legal hold."""
    return exists(select(Case.id).where(Case.conversation_id == conversation_id,
                                        or_(Case.status != CaseStatus.CLOSED, Case.id.in_(_held_case_ids()))))


def _not_tombstone() -> ColumnElement[bool]:
    return not_(Conversation.sender_id.like(f"%{TOMBSTONE_SUFFIX}"))


class Purge:
    """One purge run over every enabled rule of the policy."""

    def __init__(self, policy: RetentionPolicy, trackers: TrackerStore, transact: Transact[Any],
                 batch_size: int = 500, database: Database | None = None) -> None:
        self.policy = policy
        self.trackers = trackers
        self.transact = transact
        self.batch_size = max(1, batch_size)
        self.database = database
        self._tx: Transact[Any] = transact
        self._count_trackers = False

    async def run(self, *, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
        """Apply every enabled rule. A dry run does the same work in one transaction it rolls back
        (trackers only counted), so its figures are exactly what a real run would take."""
        now = now or utcnow()
        report = PurgeReport(dry_run)
        if not dry_run:
            await self._apply(report, now, self.transact, trackers_only_counted=False)
            if report.totals:
                await self.transact(lambda session: audit(session, None, "privacy.purge", "", report.as_dict()))
        else:
            if self.database is None:
                raise ValueError("a dry run needs the database (to roll its work back)")
            with rolled_back(self.database) as session:
                async def in_rollback(fn: Callable[[Session], T]) -> T:
                    return fn(session)

                await self._apply(report, now, in_rollback, trackers_only_counted=True)
        log.info("privacy purge%s: %s", " (dry run)" if dry_run else "", dict(report.totals))
        return report

    async def _apply(self, report: PurgeReport, now: datetime, transact: Transact[Any], *,
                     trackers_only_counted: bool) -> None:
        self._tx, self._count_trackers = transact, trackers_only_counted
        policy = self.policy
        # Cases first: a conversation whose last case is anonymised may then go with the idle ones.
        steps = [(policy.closed_cases, self._closed_cases), (policy.conversations, self._conversations),
                 (policy.message_rows, self._message_rows), (policy.delivery_logs, self._delivery_logs),
                 (policy.audit_log, self._audit_log)]
        for rule, step in steps:
            if rule.enabled:
                report.add(rule.name, await step(rule.cutoff(now)))

    async def _batches(self, query: Callable[[int], Select[Any]],
                       handle: Callable[..., Counter[str]]) -> Counter[str]:
        """Page through ids (keyset on id), handling each batch in its own transaction."""
        counts: Counter[str] = Counter()
        last = 0
        while True:
            ids = await self._tx(lambda session, after=last: list(  # type: ignore[misc]
                session.scalars(query(after).limit(self.batch_size))))
            if not ids:
                return counts
            counts.update(await self._tx(partial(handle, ids=ids)))
            last = ids[-1]

    async def _closed_cases(self, cutoff: datetime) -> Counter[str]:
        def due(after: int) -> Select[Any]:
            return (select(Case.id).where(Case.id > after, Case.status == CaseStatus.CLOSED, Case.closed_at < cutoff,
                                          Case.id.not_in(_held_case_ids()),
                                          not_(Case.sender_id.like(f"%{TOMBSTONE_SUFFIX}")))
                    .order_by(Case.id))

        def handle(session: Session, *, ids: list[int]) -> Counter[str]:
            counts: Counter[str] = Counter()
            anonymise_cases(session, list(session.scalars(due(0).where(Case.id.in_(ids)))), counts,
                            execute=True)
            return counts

        return await self._batches(due, handle)

    def _idle(self, cutoff: datetime) -> Callable[[int], Select[Any]]:
        subscribed = select(Subscriber.conversation_id).where(Subscriber.subscribed.is_(True))

        def due(after: int) -> Select[Any]:
            last_seen = func.coalesce(Conversation.last_user_message_at, Conversation.created_at)
            return (select(Conversation.id).where(
                Conversation.id > after, last_seen < cutoff, _not_tombstone(), Conversation.id.not_in(subscribed),
                not_(exists(select(Case.id).where(Case.conversation_id == Conversation.id))))
                .order_by(Conversation.id))
        return due

    async def _conversations(self, cutoff: datetime) -> Counter[str]:
        due = self._idle(cutoff)
        counts: Counter[str] = Counter()
        last = 0
        while True:
            batch = await self._tx(partial(self._next_conversations, due=due, after=last))
            if not batch:
                return counts
            senders = [sender for _, sender in batch]
            tracker_step = self.trackers.count if self._count_trackers else self.trackers.delete
            counts[TRACKER_TABLE] += await asyncio.to_thread(tracker_step, senders)
            counts.update(await self._tx(partial(
                self._delete_conversations, ids=[cid for cid, _ in batch], due=due)))
            last = batch[-1][0]

    def _next_conversations(self, session: Session, *, due: Callable[[int], Select[Any]],
                            after: int) -> list[tuple[int, str]]:
        query = (select(Conversation.id, Conversation.sender_id)
                 .where(Conversation.id.in_(due(after).limit(self.batch_size).scalar_subquery()))
                 .order_by(Conversation.id))
        return [(row[0], row[1]) for row in session.execute(query)]

    @staticmethod
    def _delete_conversations(session: Session, *, ids: list[int], due: Callable[[int], Select[Any]]) -> Counter[str]:
        counts: Counter[str] = Counter()
        still_due = [(row[0], row[1]) for row in session.execute(select(Conversation.id, Conversation.sender_id).where(
            Conversation.id.in_(due(0).where(Conversation.id.in_(ids)).scalar_subquery())))]
        if not still_due:
            return counts
        senders = [sender for _, sender in still_due]
        inbox = table("content_inbox_items")
        walk(session, inbox, inbox.c.sender_id.in_(senders), counts, execute=True)
        conversations = table("conversations")
        walk(session, conversations, conversations.c.id.in_([cid for cid, _ in still_due]), counts,
             execute=True)
        return counts

    async def _message_rows(self, cutoff: datetime) -> Counter[str]:
        counts = await self._rows(InboundMessage, and_(
            InboundMessage.status.in_([InboundStatus.DONE, InboundStatus.FAILED]), InboundMessage.received_at < cutoff,
            not_(_keeps_everything(InboundMessage.conversation_id))))
        counts.update(await self._rows(OutboundMessage, and_(
            OutboundMessage.status.in_([OutboundStatus.SENT, OutboundStatus.FAILED]),
            OutboundMessage.created_at < cutoff, not_(_keeps_everything(OutboundMessage.conversation_id)))))
        return counts

    async def _delivery_logs(self, cutoff: datetime) -> Counter[str]:
        counts = await self._rows(Notification, and_(
            Notification.status.in_(["sent", "failed"]), Notification.created_at < cutoff,
            Notification.case_id.not_in(_held_case_ids())))
        counts.update(await self._rows(BroadcastDelivery, BroadcastDelivery.created_at < cutoff))
        return counts

    async def _audit_log(self, cutoff: datetime) -> Counter[str]:
        return await self._rows(AuditLog, AuditLog.at < cutoff)

    async def _rows(self, model: Any, condition: ColumnElement[bool]) -> Counter[str]:
        """A rule on one table's own rows (and what cascades from them)."""
        def due(after: int) -> Select[Any]:
            return select(model.id).where(model.id > after, condition).order_by(model.id)

        def handle(session: Session, *, ids: list[int]) -> Counter[str]:
            counts: Counter[str] = Counter()
            walk(session, model.__table__, and_(model.id.in_(ids), condition), counts, execute=True)
            return counts

        return await self._batches(due, handle)

