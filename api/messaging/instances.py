"""Live gateway processes and fast recovery of a dead one's claims.

Every process registers itself in `gateway_instances` with a random id and writes a heartbeat every
INSTANCE_HEARTBEAT_SECONDS (a PeriodicTask). The queue rows a process claims name it (`claimed_by`).
At start and with every heartbeat a process also looks for instances whose heartbeat is older than
INSTANCE_DEAD_AFTER_SECONDS: their claimed rows go back to pending (the workers take them again, each
conversation still in order) and their instance rows are removed. A process killed with SIGKILL thus
loses its work for a few seconds instead of the whole lease (WORKER_LEASE_SECONDS).

A process that was only slow (its loop stalled past the limit) finds its claims taken back: it notices
when it records the outcome (the row is no longer in flight) and drops its result; a send in flight at
that moment may go out twice, which is preferred to a lost safety message.
"""
from __future__ import annotations

import logging
import os
import socket
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
from api.tasks import PeriodicTask

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

    `on_released` is called after claims were taken back (wake the workers)."""

    def __init__(self, gate: WriteGate, settings: Settings, *,
                 on_released: Callable[[], None] | None = None) -> None:
        self.gate = gate
        self.id = str(uuid.uuid4())
        self.heartbeat_seconds = settings.instance_heartbeat_seconds
        self.dead_after = timedelta(seconds=settings.instance_dead_after_seconds)
        self.on_released = on_released
        self._task = PeriodicTask("instance-heartbeat", self.beat, settings.instance_heartbeat_seconds)

    async def start(self) -> InstanceRegistry:
        """Register (and release what dead instances held) before the workers start, then beat."""
        await self.beat()
        self._task.start()
        return self

    async def beat(self) -> Released:
        """Write this process's heartbeat, then take back the claims of instances that stopped."""
        now = utcnow()
        async with self.gate.transaction() as session:
            me = session.get(GatewayInstance, self.id)
            if me is None:  # first beat, or another process judged us dead after a long stall
                session.add(GatewayInstance(id=self.id, hostname=socket.gethostname()[:255], pid=os.getpid(),
                                            started_at=now, heartbeat_at=now))
            else:
                me.heartbeat_at = now
            session.flush()
            released = release_dead_instances(session, now - self.dead_after)
        if released.inbound or released.outbound:
            log.warning("took back %d inbound and %d outbound claim(s) of %d stopped gateway process(es)",
                        released.inbound, released.outbound, released.instances)
            if self.on_released is not None:
                self.on_released()
        return released

    async def stop(self) -> None:
        """Stop beating and leave the table (the workers have released their claims already)."""
        await self._task.stop()
        try:
            async with self.gate.transaction() as session:
                session.execute(delete(GatewayInstance).where(GatewayInstance.id == self.id))
        except Exception:  # the database is away: the others remove us once the heartbeat is stale
            log.exception("could not remove this gateway instance")
