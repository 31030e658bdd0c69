"""Helpers for the messaging tests and the reliability benchmark: many Telegram subscribers at once,
and a probe of the event loop's lag."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import insert, select

from api.content.models import Subscriber
from api.db.session import Database
from api.messaging.models import Conversation
from api.security.crypto import Crypto


def add_telegram_subscribers(database: Database, crypto: Crypto, chats: range) -> list[int]:
    """Telegram conversations for these chat ids, all opted in to broadcasts; their ids."""
    rows = [{"channel": "telegram", "sender_id": crypto.pseudonymous_id("telegram", str(chat)),
             "platform_user_id_encrypted": crypto.encrypt(str(chat)), "state": "bot"} for chat in chats]
    with database.transaction() as session:
        session.execute(insert(Conversation), rows)
        ids = list(session.scalars(select(Conversation.id).where(
            Conversation.sender_id.in_([r["sender_id"] for r in rows])).order_by(Conversation.id)))
        session.execute(insert(Subscriber), [{"conversation_id": cid, "channel": "telegram", "subscribed": True}
                                             for cid in ids])
    return ids


def _runqueue_seconds() -> float:
    """How long this thread has waited for a CPU so far (Linux schedstat; 0 elsewhere)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat", encoding="ascii") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class LoopLag:
    """How late the event loop woke a task that asked to sleep `interval` seconds, at worst.

    `worst` is the delay the process itself caused (its callbacks, lock and GIL waits): time the
    operating system kept the thread off a busy machine's CPUs (run-queue wait) is not counted;
    `worst_wall` counts everything."""

    interval: float = 0.005
    worst: float = 0.0
    worst_wall: float = 0.0
    samples: int = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked, queued = loop.time(), _runqueue_seconds()
            await asyncio.sleep(self.interval)
            wall = loop.time() - asked - self.interval
            self.worst_wall = max(self.worst_wall, wall)
            self.worst = max(self.worst, wall - (_runqueue_seconds() - queued))
            self.samples += 1


@contextmanager
def probing(lag: LoopLag) -> Iterator[LoopLag]:
    """Measure the loop's lag for the duration of the block (call inside a running loop)."""
    task = asyncio.get_running_loop().create_task(lag.run())
    try:
        yield lag
    finally:
        task.cancel()
