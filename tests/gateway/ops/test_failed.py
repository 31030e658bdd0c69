"""Failed and parked rows: the admins' list (no text) and `python -m api.cli requeue-failed` putting
them back in the queue (the console's banner: test_failed_banner.py)."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from api.cli import main as cli_main
from api.db.base import utcnow
from api.messaging.models import InboundMessage, OutboundMessage
from api.settings import Settings, get_settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, login, staff_settings
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHAT = 616161
SECRET_WORDS = "điều em chưa kể"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return staff_settings(settings)


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`python -m api.cli` reads its settings from the environment: point it at this test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _one_failed_delivery(client: httpx.AsyncClient, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(400, times=1)  # permanent: the row is failed at once
    await post_update(client, text_update(CHAT, f"xin chào {SECRET_WORDS}"))
    await drained(client._transport.app)  # type: ignore[attr-defined]


def _park_inbound(client: httpx.AsyncClient) -> int:
    """An inbound message the pipeline gave up on (as after MAX_UNEXPECTED_FAILURES bugs)."""
    database = client._transport.app.state.context.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        conversation_id = session.scalars(select(InboundMessage.conversation_id)).first()
        row = InboundMessage(channel="telegram", platform_message_key="parked-1", conversation_id=conversation_id,
                             kind="text", status="failed", attempts=5, received_at=utcnow(),
                             last_error=f"ValueError: could not read '{SECRET_WORDS}'")
        session.add(row)
        session.flush()
        return row.id


async def test_admins_list_failed_rows_without_text(client: httpx.AsyncClient, fake_telegram: FakeTelegram) -> None:
    await _one_failed_delivery(client, fake_telegram)
    parked_id = _park_inbound(client)
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    response = await client.get("/api/v1/admin/failed", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert body["inbound"]["count"] == 1 and body["outbox"]["count"] == 1
    inbound = body["inbound"]["rows"][0]
    assert inbound["id"] == parked_id and inbound["channel"] == "telegram" and inbound["attempts"] == 5
    assert inbound["reason"] == "ValueError" and inbound["age_seconds"] >= 0
    outbox = body["outbox"]["rows"][0]
    assert outbox["channel"] == "telegram" and "chat not found" in outbox["reason"].lower()
    assert SECRET_WORDS not in response.text and str(CHAT) not in response.text
    counts = await client.get("/api/v1/admin/failed/count", headers=admin)
    assert counts.json() == {"inbound": 1, "outbox": 1, "total": 2}


async def test_only_admins_see_failed_rows(client: httpx.AsyncClient) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    created = await client.post("/api/v1/users", headers=admin, json={
        "email": "lan@example.vn", "password": STAFF_PASSWORD, "role": "counselor", "display_name": "Lan"})
    assert created.status_code == 201
    counselor = await login(client, "lan@example.vn", STAFF_PASSWORD)
    assert (await client.get("/api/v1/admin/failed")).status_code == 401
    assert (await client.get("/api/v1/admin/failed", headers=counselor)).status_code == 403
    assert (await client.get("/api/v1/admin/failed/count", headers=counselor)).status_code == 403


async def test_requeue_failed_outbox_delivers_it(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                                 cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    await _one_failed_delivery(client, fake_telegram)
    assert fake_telegram.sent(CHAT) == []
    parked_id = _park_inbound(client)
    assert cli_main(["requeue-failed", "--outbox"]) == 0
    assert "inbound=0 outbox=1" in capsys.readouterr().out
    # The running gateway's delivery worker takes it at its next poll.
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="the requeued reply delivered")
    database = client._transport.app.state.context.database  # type: ignore[attr-defined]

    def statuses() -> list[str]:
        with database.session() as session:
            return list(session.scalars(select(OutboundMessage.status)))

    # The row is marked sent once the platform's answer is recorded, a moment after the send.
    await eventually(lambda: statuses() == ["sent"], what="the requeued row recorded as sent")
    with database.session() as session:
        assert session.get(InboundMessage, parked_id).status == "failed"  # --outbox left inbound alone


async def test_requeue_one_inbound_row_by_id(client: httpx.AsyncClient, fake_telegram: FakeTelegram,
                                             cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    await post_update(client, text_update(CHAT, "xin chào"))
    await drained(client._transport.app)  # type: ignore[attr-defined]
    parked_id = _park_inbound(client)
    assert cli_main(["requeue-failed", "--inbound", "--id", str(parked_id + 1000)]) == 1
    assert cli_main(["requeue-failed", "--inbound", "--id", str(parked_id)]) == 0
    assert "inbound=1 outbox=0" in capsys.readouterr().out
    database = client._transport.app.state.context.database  # type: ignore[attr-defined]

    def processed() -> bool:
        with database.session() as session:
            return session.get(InboundMessage, parked_id).status == "done"

    await eventually(processed, what="the requeued message processed")
    with pytest.raises(SystemExit):  # --id alone is ambiguous: the queues number rows separately
        cli_main(["requeue-failed", "--id", "1"])
