"""Live gateway processes and fast recovery of a dead one's claims.

Every process registers itself in `gateway_instances` with a random id and writes a heartbeat every
INSTANCE_HEARTBEAT_SECONDS, from a thread of its own so that a busy event loop still beats. The queue
rows a process claims name it (`claimed_by`). At start and with every heartbeat a process also looks
for instances whose heartbeat is older than INSTANCE_DEAD_AFTER_SECONDS: their claimed rows go back to
pending (the workers take them again, each conversation still in order) and their instance rows are
removed. A process killed with SIGKILL thus loses its work for a few seconds instead of the whole
lease (WORKER_LEASE_SECONDS).

A process that was only frozen past the limit (stopped, swapped out) finds its claims taken back: it
notices when it records the outcome (the row is no longer in flight) and drops its result; a send in
flight at that moment may go out twice, which is preferred to a lost safety message.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import GatewayInstance, InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from api.settings import Settings

log = logging.getLogger(__name__)

# The in-flight status of each queue table.
_QUEUES = ((InboundMessage, InboundStatus.PROCESSING), (OutboundMessage, OutboundStatus.SENDING))


@dataclass
class Released:
    instances: int = 0
    inbound: int = 0
    outbound: int = 0


def release_dead_instances(session: Session, dead_before: object) -> Released:
    """Claims held by instances whose heartbeat is older than `dead_before` (or that are gone from
    the table) go back to pending; those instances are removed."""
    live = select(GatewayInstance.id).where(GatewayInstance.heartbeat_at >= dead_before)
    counts = []
    for model, in_flight in _QUEUES:
        result = session.execute(
            update(model)
            .where(and_(model.status == in_flight, model.claimed_by.is_not(None), model.claimed_by.not_in(live)))
            .values(status="pending", lease_expires_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        counts.append(int(result.rowcount or 0))  # type: ignore[attr-defined]
    removed = session.execute(delete(GatewayInstance).where(GatewayInstance.heartbeat_at < dead_before)
                              .execution_options(synchronize_session=False))
    return Released(int(removed.rowcount or 0), counts[0], counts[1])  # type: ignore[attr-defined]


class InstanceRegistry:
    """This process's entry in `gateway_instances`: heartbeat, and recovery of dead instances' claims.

    The heartbeat runs in a thread of its own with its own connection, not on the event loop: the
    beat says "this process is alive", and a loop that is only busy (a burst on a starved machine)
    must not get a live process judged dead, its claims taken back and its sends in flight repeated
    by another. A loop that is truly stuck keeps its claims until their leases run out.

    `on_released` is called on the event loop after claims were taken back (wake the workers)."""

    def __init__(self, gate: WriteGate, settings: Settings, *,
                 on_released: Callable[[], None] | None = None) -> None:
        self.gate = gate
        self.id = str(uuid.uuid4())
        self.heartbeat_seconds = settings.instance_heartbeat_seconds
        self.dead_after = timedelta(seconds=settings.instance_dead_after_seconds)
        self.on_released = on_released
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> InstanceRegistry:
        """Register (and release what dead instances held) before the workers start, then beat."""
        self._loop = asyncio.get_running_loop()
        await self.beat()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._beat_until_stopped, name="instance-heartbeat", daemon=True)
        self._thread.start()
        return self

    async def beat(self) -> Released:
        """One beat from the event loop (at start; tests), through the write gate like every write
        made on the loop (on SQLite a write beside a gated transaction would block the loop)."""
        async with self.gate.transaction() as session:
            released = self._record_beat(session)
        self._log_released(released)
        if (released.inbound or released.outbound) and self.on_released is not None:
            self.on_released()
        return released

    def _beat_until_stopped(self) -> None:
        while not self._stopping.wait(self.heartbeat_seconds):
            try:
                released = self._write_beat()
            except Exception:  # the database is away: the next round retries
                log.exception("instance heartbeat failed")
                continue
            if (released.inbound or released.outbound) and self.on_released is not None and self._loop is not None:
                try:
                    self._loop.call_soon_threadsafe(self.on_released)
                except RuntimeError:  # the loop closed while we were beating
                    return

    def _write_beat(self) -> Released:
        """A beat from the heartbeat thread, in a transaction of its own connection."""
        with self.gate.database.transaction() as session:
            released = self._record_beat(session)
        self._log_released(released)
        return released

    def _record_beat(self, session: Session) -> Released:
        """Write this process's heartbeat, then take back the claims of instances that stopped."""
        now = utcnow()
        me = session.get(GatewayInstance, self.id)
        if me is None:  # first beat, or another process judged us dead after a long stall
            session.add(GatewayInstance(id=self.id, hostname=socket.gethostname()[:255], pid=os.getpid(),
                                        started_at=now, heartbeat_at=now))
        else:
            me.heartbeat_at = now
        session.flush()
        return release_dead_instances(session, now - self.dead_after)

    @staticmethod
    def _log_released(released: Released) -> None:
        if released.inbound or released.outbound:
            log.warning("took back %d inbound and %d outbound claim(s) of %d stopped gateway process(es)",
                        released.inbound, released.outbound, released.instances)

    async def stop_heartbeat(self) -> None:
        """No more beats; the entry stays (as a frozen process's would)."""
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def stop(self) -> None:
        """Stop beating and leave the table (the workers have released their claims already)."""
        await self.stop_heartbeat()
        try:
            async with self.gate.transaction() as session:
                session.execute(delete(GatewayInstance).where(GatewayInstance.id == self.id))
        except Exception:  # the database is away: the others remove us once the heartbeat is stale
            log.exception("could not remove this gateway instance")
