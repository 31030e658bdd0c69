"""GET /api/v1/cases and /cases/{id}: filters, queue order, the Zalo reply window, errors."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from api.auth.models import AuditLog
from api.main import create_app
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation
from api.messaging.risk import Risk
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, staff_settings

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(staff_settings(settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http:
            yield http


def _disclose(app, channel: str, user: str, key: str, text: str, risk: Risk) -> None:  # type: ignore[no-untyped-def]
    with app.state.context.database.transaction() as session:
        inbound = accept_inbound(session, channel=channel, platform_user_id=user, platform_message_key=key,
                                 kind="text", text=text, crypto=app.state.context.crypto)
        conversation = session.get(Conversation, inbound.conversation_id)
        app.state.context.case_log.record_child_message(session, conversation, inbound_id=inbound.id, text=text,
                                                        risk=risk)


async def test_queue_order_filters_and_zalo_window(api_client: httpx.AsyncClient) -> None:
    app = api_client._transport.app  # type: ignore[attr-defined]
    _disclose(app, "telegram", "1", "a", "em bị bắt nạt", Risk("concern", "disclose_bullying", []))
    _disclose(app, "telegram", "2", "b", "chú ấy sờ em", Risk("high", "disclose_sexual_abuse", []))
    _disclose(app, "zalo", "3", "c", "cứu em", Risk("imminent", "danger_now", ["lex:danger:cứu"]))
    token = (await api_client.post("/api/v1/auth/login",
                                   json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    queue = (await api_client.get("/api/v1/cases", headers=auth)).json()
    assert [c["level"] for c in queue] == ["imminent", "high", "concern"]
    assert {"id", "level", "category", "status", "channel", "opened_at", "waiting_seconds"} <= set(queue[0])
    waiting = (await api_client.get("/api/v1/cases?status=waiting", headers=auth)).json()
    assert {c["level"] for c in waiting} == {"imminent", "high"}
    high = (await api_client.get("/api/v1/cases?level=high", headers=auth)).json()
    assert [c["category"] for c in high] == ["disclose_sexual_abuse"]
    assert (await api_client.get("/api/v1/cases?status=everything", headers=auth)).status_code == 422
    assert (await api_client.get("/api/v1/cases/99999", headers=auth)).status_code == 404

    zalo = (await api_client.get(f"/api/v1/cases/{queue[0]['id']}", headers=auth)).json()
    assert zalo["channel"] == "zalo" and zalo["messages"][0]["text"] == "cứu em"
    assert 7 * 86400 - 120 < zalo["reply_window_seconds_left"] <= 7 * 86400
    assert zalo["signals"] == ["lex:danger:cứu"]
    other = (await api_client.get(f"/api/v1/cases/{queue[1]['id']}", headers=auth)).json()
    assert other["reply_window_seconds_left"] is None
    with app.state.context.database.session() as session:
        assert session.scalar(select(func.count()).where(AuditLog.action == "case.view")) == 2
