"""Broadcast dispatch: in short batches that never hold up the event loop, and resumed after a
crash without sending anyone the broadcast twice."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.content import broadcasts
from api.content.models import Broadcast, BroadcastDelivery, BroadcastStatus
from api.main import create_app
from api.messaging.models import OutboundMessage
from api.settings import Settings
from tests.gateway.content.small_domain import content_settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.messaging.support import LoopTurns, add_telegram_subscribers, counting
from tests.gateway.staff import staff_token
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
FIRST_CHAT = 8_000_000


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:  # overrides the shared fixture
    # Below the Telegram client's own limit (30/s), so the outbox's rate is the one that binds.
    return content_settings(settings, tmp_path).model_copy(update={"delivery_global_rate_per_second": 25.0})


def _count(app: FastAPI, model: type[BroadcastDelivery] | type[OutboundMessage]) -> int:
    with app.state.context.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def test_dispatching_3000_subscribers_goes_in_short_batches_with_the_loop_free_between(
        client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    # How long the loop waits is measured by `make bench-reliability` (replies during a broadcast);
    # here, what keeps it short on any machine: bounded batches, and the loop's turn between two.
    context = app.state.context
    add_telegram_subscribers(context.database, context.crypto, range(FIRST_CHAT, FIRST_CHAT + 3000))
    probe = LoopTurns()
    batches: list[tuple[int, int, int]] = []  # (turns when read, turns when written, size)
    read_at: list[int] = []
    real_next_batch, real_write_batch = broadcasts.next_batch, broadcasts.write_batch

    def next_batch(*args: Any, **kwargs: Any) -> broadcasts.Batch:
        read_at.append(probe.turns)
        return real_next_batch(*args, **kwargs)

    def write_batch(session: Session, batch: broadcasts.Batch, **kwargs: Any) -> int:
        batches.append((read_at[-1], probe.turns, len(batch.deliveries)))
        return real_write_batch(session, batch, **kwargs)

    monkeypatch.setattr(broadcasts, "next_batch", next_batch)
    monkeypatch.setattr(broadcasts, "write_batch", write_batch)
    headers = staff_token(app, "lan@example.org")
    created = (await client.post("/api/v1/broadcasts", headers=headers, json={
        "title": "Tháng hành động", "text": "Cần giúp, gọi 111.", "channels": ["telegram"]})).json()
    with counting(probe):
        sent = await client.post(f"/api/v1/broadcasts/{created['id']}/send", headers=headers)
        assert sent.status_code == 200 and sent.json()["status"] == "sending"
        await eventually(lambda: _count(app, BroadcastDelivery) == 3000, timeout=60, what="everyone queued")
    size = context.settings.broadcast_batch_size
    assert sum(n for _, _, n in batches) == 3000
    assert len(batches) >= 3000 // size and all(0 < n <= size for _, _, n in batches)
    # Each batch is read only after the loop has had a turn since the previous batch was written.
    assert all(later[0] > earlier[1] for earlier, later in zip(batches, batches[1:], strict=False)), batches
    status = await eventually(lambda: _status(app, created["id"]) == BroadcastStatus.DONE, what="done")
    assert status
    await client.post(f"/api/v1/broadcasts/{created['id']}/cancel", headers=headers)


def _status(app: FastAPI, broadcast_id: int) -> str:
    with app.state.context.database.session() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast.status


async def test_a_broadcast_stopped_half_way_continues_after_restart_without_duplicates(
        settings: Settings, fake_telegram: FakeTelegram) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + 200)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        context = app.state.context
        add_telegram_subscribers(context.database, context.crypto, chats)
        await drained(app)
    # What a process killed during dispatch leaves: the broadcast sending, 80 recipients queued.
    with context.database.transaction() as session:
        broadcast = Broadcast(title="Nửa chừng", text="Tin chiến dịch", channels=["telegram"],
                              created_by="lan@example.org")
        session.add(broadcast)
        session.flush()
        broadcasts.start(broadcast)
        session.flush()
        batch = broadcasts.next_batch(session, broadcast.id, context.crypto, size=80)
        assert broadcasts.write_batch(session, batch) == 80
        broadcast_id = broadcast.id
    restarted = create_app(settings)
    async with restarted.router.lifespan_context(restarted):
        await eventually(lambda: _status(restarted, broadcast_id) == BroadcastStatus.DONE, timeout=20,
                         what="the rest dispatched")
        await eventually(lambda: len(fake_telegram.sent()) == len(chats), timeout=90, what="everyone reached")
        await drained(restarted, timeout=20)
    assert sorted(int(p["chat_id"]) for p in fake_telegram.sent()) == list(chats)  # each once
    assert _count(restarted, BroadcastDelivery) == len(chats)
    assert _count(restarted, OutboundMessage) == len(chats)
