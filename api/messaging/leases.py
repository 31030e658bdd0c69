"""Leased claims on a queue table, shared by the inbound worker and the delivery worker.

A row is claimed by an atomic status update (pending → the table's in-flight status) on the oldest
unfinished row of its conversation, so two gateway processes on one database never take the same row
nor two rows of one conversation at the same time. Claims carry a lease; a claim whose lease ran out
(the process died) goes back to pending, at start-up and periodically. Each claim also names the
gateway process that holds it (`claimed_by`): when that process stops sending heartbeats its claims are
released within seconds (api/messaging/instances.py), long before the lease would run out.

On PostgreSQL the candidates are selected `FOR UPDATE SKIP LOCKED`, so processes claiming at the same
moment take different rows instead of waiting on each other's locks; SQLite has one writer at a time
(BEGIN IMMEDIATE) and needs no row locks.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import GatewayInstance, InboundMessage, OutboundMessage
from api.settings import Settings
from api.tasks import finish_in_flight

RECOVERY_INTERVAL_SECONDS = 10.0

Claim = TypeVar("Claim")


class LeasedWorker(ABC, Generic[Claim]):
    """Works through the due rows of `model`, `concurrency` at a time, each conversation's in order.

    `in_flight` is the status of a claimed row. A subclass says what a claim hands over (`claim`),
    what is done with it (`_handle`) and how a recovery is logged (`recover_abandoned`).
    """

    def __init__(self, gate: WriteGate, model: type[InboundMessage] | type[OutboundMessage], in_flight: str,
                 settings: Settings, *, concurrency: int, name: str, log: logging.Logger,
                 instance_id: str | None = None) -> None:
        self.gate = gate
        self.instance_id = instance_id  # the GatewayInstance that holds this process's claims
        self.model = model
        self.in_flight = in_flight
        self.concurrency = concurrency
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_seconds = settings.worker_lease_seconds
        self.grace_seconds = settings.shutdown_grace_seconds
        self._name = name
        self._log = log  # the worker module's logger, so its records keep their name
        self._wake = asyncio.Event()
        self._active: dict[int, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_recovery = 0.0

    @abstractmethod
    async def recover_abandoned(self) -> int:
        """Claims whose lease ran out go back to pending (nothing is lost after a crash)."""

    @abstractmethod
    async def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` rows (see `_claim`)."""

    @abstractmethod
    def _row_id(self, item: Claim) -> int:
        """The id of the claimed row."""

    @abstractmethod
    async def _handle(self, item: Claim) -> None:
        """Process one claimed row and record the outcome."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def alive(self) -> bool:
        """Started, not stopped, and its claiming loop still running (readiness)."""
        return self._loop_task is not None and not self._loop_task.done() and not self._stopping

    def notify(self) -> None:
        """New work was committed: look now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> Self:
        await self.recover_abandoned()
        self._loop_task = asyncio.create_task(self._run(), name=f"{self._name}-worker")
        return self

    async def stop(self) -> None:
        """Stop claiming, let in-flight rows finish (up to the grace period), release the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            # A loop that already died (cancelled or crashed) must not stop the shutdown.
            await asyncio.gather(self._loop_task, return_exceptions=True)
        # Taken before waiting: a task cancelled at the end of the grace period removes its own id
        # from _active as it unwinds, and its row must still go back to pending now rather than
        # when its lease runs out (rows that finished are not in flight and are left alone).
        in_flight = list(self._active)
        await finish_in_flight(list(self._active.values()), self.grace_seconds)
        await self._release(in_flight)

    async def _recover(self, *, force_all: bool = False) -> int:
        """Put claims whose lease ran out (every claim with `force_all`) back to pending; the count."""
        model = self.model
        now = utcnow()
        condition = model.status == self.in_flight
        if not force_all:
            condition = and_(condition, or_(model.lease_expires_at.is_(None), model.lease_expires_at < now))
        async with self.gate.transaction() as session:
            result = session.execute(
                update(model).where(condition).values(status="pending", lease_expires_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )
        self._last_recovery = time.monotonic()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _release(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        model = self.model
        async with self.gate.transaction() as session:
            session.execute(
                update(model)
                .where(model.id.in_(row_ids), model.status == self.in_flight)
                .values(status="pending", lease_expires_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )

    def _claim_order(self) -> tuple[Any, ...]:
        """The order in which due rows are claimed (oldest first; the outbox: by lane, then oldest)."""
        return (self.model.id,)

    def _same_queue(self, earlier: Any) -> tuple[ColumnElement[bool], ...]:
        """Extra conditions for an earlier row of the conversation to hold back a later one
        (the outbox: only rows of the same lane; order is kept within a lane)."""
        return ()

    async def _claim(self, limit: int, *where: ColumnElement[bool],
                     load: Callable[[Session, int], Claim]) -> list[Claim]:
        """Claim up to `limit` due rows matching `where`, each the oldest unfinished one of its
        conversation; `load` turns each claimed id into a claim inside the claiming transaction."""
        if limit <= 0:
            return []
        model = self.model
        now = utcnow()
        earlier = aliased(model)
        head_of_conversation = ~exists().where(
            earlier.conversation_id == model.conversation_id,
            earlier.id < model.id,
            earlier.status.in_(("pending", self.in_flight)),
            *self._same_queue(earlier),
        )
        candidates = (
            select(model.id)
            .where(
                model.status == "pending",
                *where,
                or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
                head_of_conversation,
            )
            .order_by(*self._claim_order())
            .limit(limit)
        )
        if not self.gate.database.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True, of=model)
        claimed: list[Claim] = []
        lease = now + timedelta(seconds=self.lease_seconds)
        async with self.gate.transaction() as session:
            if self.instance_id is not None and session.get(GatewayInstance, self.instance_id) is None:
                # Another process judged this one dead (a stall past the heartbeat limit) and took
                # its claims back: claim nothing until the next heartbeat registers it again, or the
                # two would take the same rows from each other at every heartbeat.
                return claimed
            for row_id in session.scalars(candidates).all():
                # Only still pending: another process may have claimed the row since the select.
                result = session.execute(
                    update(model)
                    .where(model.id == row_id, model.status == "pending")
                    .values(status=self.in_flight, attempts=model.attempts + 1, lease_expires_at=lease,
                            claimed_by=self.instance_id)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(load(session, row_id))
        return claimed

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            claimed: list[Claim] = []
            try:
                if time.monotonic() - self._last_recovery > RECOVERY_INTERVAL_SECONDS:
                    await self.recover_abandoned()
                free = self.concurrency - len(self._active)
                claimed = await self.claim(free) if free > 0 else []
                for item in claimed:
                    self._active[self._row_id(item)] = asyncio.create_task(self._handle_and_free(item))
            except Exception:
                self._log.exception("%s worker loop error", self._name)
            if claimed and len(self._active) < self.concurrency:
                continue  # there may be more ready work
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def _handle_and_free(self, item: Claim) -> None:
        try:
            await self._handle(item)
        finally:
            self._active.pop(self._row_id(item), None)
            self._wake.set()  # a slot is free: claim the next row without waiting for the poll
