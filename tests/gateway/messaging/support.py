"""Helpers for the messaging tests and the reliability benchmark: many Telegram subscribers at once,
and a counter of the event loop's turns."""
from __future__ import annotations

import asyncio
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


@dataclass
class LoopTurns:
    """Counts the event loop's turns: a task that yields to the loop again and again. Whether the
    count moved between two moments says whether the loop was free to run other work in between,
    whatever the machine's speed."""

    turns: int = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            self.turns += 1


@contextmanager
def counting(probe: LoopTurns) -> Iterator[LoopTurns]:
    """Count the loop's turns for the duration of the block (call inside a running loop)."""
    task = asyncio.get_running_loop().create_task(probe.run())
    try:
        yield probe
    finally:
        task.cancel()
