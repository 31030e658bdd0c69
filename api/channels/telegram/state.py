"""Button payloads behind Telegram's callback_data (at most 64 bytes): the payload itself when it
fits, else a short key stored in button_payloads."""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.channels.telegram.models import ButtonPayload
from api.db.gate import WriteGate

CALLBACK_DATA_MAX_BYTES = 64
SHORT_KEY_PREFIX = "k:"


def short_key(payload: str) -> str:
    return SHORT_KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


async def callback_data_for(gate: WriteGate, payload: str) -> str:
    """The payload itself when it fits in 64 bytes, else a stored short key."""
    if len(payload.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES and not payload.startswith(SHORT_KEY_PREFIX):
        return payload
    key = short_key(payload)
    async with gate.transaction() as session:
        if session.get(ButtonPayload, key) is None:
            try:
                with session.begin_nested():
                    session.add(ButtonPayload(key=key, payload=payload))
            except IntegrityError:
                pass  # stored concurrently by another send
    return key


def resolve_callback_data(session: Any, data: str) -> str | None:
    """The button payload behind callback_data (None when a short key is unknown)."""
    if not data.startswith(SHORT_KEY_PREFIX):
        return data
    return session.scalar(select(ButtonPayload.payload).where(ButtonPayload.key == data))
