"""Answer the messages that waited for Rasa as soon as Rasa is back.

A message that found Rasa unreachable got the hotline fallback and waits out its own backoff (up to
`inbound_retry_max_seconds`, 30 s by default), so a Rasa restarted by its supervisor in a few seconds
would still answer it, and open a case only the classifier recognises, tens of seconds later. While
any such message waits, Rasa is probed every `rasa_recovery_probe_seconds`; as soon as it answers,
those messages are made due now and the inbound worker is woken.

Only a Rasa seen down (by the turn that found it not serving, or by a probe) and then up releases
them: a Rasa that answers the probe but fails or times out on the turns (overloaded, a broken store)
leaves each message to its own backoff, which is what keeps retries from piling onto it.

The waiting ids are this process's own (each gateway process probes for the messages it deferred);
a message deferred by a process that then died still has its backoff.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import update

from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import InboundMessage, InboundStatus
from api.messaging.rasa_client import RasaClient
from api.tasks import PeriodicTask

log = logging.getLogger(__name__)

_CHUNK = 500  # ids per UPDATE: well under every database's limit on bound parameters


class RasaRecovery:
    def __init__(self, gate: WriteGate, rasa: RasaClient, wake_worker: Callable[[], None],
                 interval: float) -> None:
        self.gate = gate
        self.rasa = rasa
        self._wake_worker = wake_worker
        self._probe_timeout = max(0.2, min(1.0, interval))
        self._waiting: set[int] = set()
        self._seen_down = False  # since the messages in `_waiting` were deferred
        self._task = PeriodicTask("rasa-recovery", self._step, interval)

    def deferred(self, inbound_id: int, *, rasa_seen_down: bool = False) -> None:
        """The pipeline deferred this message because Rasa did not answer its turn.

        `rasa_seen_down`: the turn found Rasa not serving at all. That counts as a probe that saw
        it down, so the first probe that sees it answer releases the message even when Rasa came
        back before any probe ran."""
        self._waiting.add(inbound_id)
        if rasa_seen_down:
            self._seen_down = True

    async def start(self) -> RasaRecovery:
        self._task.start()
        return self

    async def stop(self) -> None:
        await self._task.stop()

    async def _step(self) -> None:
        if not self._waiting:
            self._seen_down = False
            return
        if not await self.rasa.is_up(timeout=self._probe_timeout):
            self._seen_down = True
            return
        ids, self._waiting = sorted(self._waiting), set()
        if not self._seen_down:
            return  # Rasa answers: the turns failed for another reason, keep their backoff
        self._seen_down = False
        now = utcnow()
        made_due = 0
        for start in range(0, len(ids), _CHUNK):
            async with self.gate.transaction() as session:
                result = session.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id.in_(ids[start:start + _CHUNK]),
                           InboundMessage.status == InboundStatus.PENDING,
                           InboundMessage.next_attempt_at > now)
                    .values(next_attempt_at=now)
                    .execution_options(synchronize_session=False))
                made_due += int(getattr(result, "rowcount", 0) or 0)
        if made_due:
            log.info("rasa answers again: %d waiting message(s) retried now", made_due)
        self._wake_worker()
