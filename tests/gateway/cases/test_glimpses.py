"""The queue's excerpt and the child's messages before the case opened, in the case API: decrypted
for case workers only, bounded (10 messages within 24 h), button taps named."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from api.db.base import utcnow
from api.main import create_app
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import Risk
from api.settings import Settings
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, login, staff_settings, staff_token

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(staff_settings(settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http:
            yield http


def _message(app, key: str, text: str, kind: str = "text", risk: Risk | None = None,  # type: ignore[no-untyped-def]
             hours_ago: float = 0) -> None:
    with app.state.context.database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id="77", platform_message_key=key,
                                 kind=kind, text=text, crypto=app.state.context.crypto)
        # Stored as already answered: this test is about what the case API reads, not the pipeline.
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound.id)
                        .values(received_at=utcnow() - timedelta(hours=hours_ago), status="done"))
        if risk is not None:
            conversation = session.get(Conversation, inbound.conversation_id)
            app.state.context.case_log.record_child_message(session, conversation, inbound_id=inbound.id,
                                                            text=text, risk=risk)


async def test_excerpt_and_earlier_messages(api_client: httpx.AsyncClient) -> None:
    app = api_client._transport.app  # type: ignore[attr-defined]
    _message(app, "old", "tin nhắn từ hôm kia", hours_ago=30)
    for n in range(12):
        _message(app, f"m{n}", f"tin số {n}", hours_ago=2)
    _message(app, "tap", "/affirm", kind="button", hours_ago=1)
    long_text = "chú hàng xóm " + "sờ vào người em rồi bắt em giữ bí mật " * 4
    _message(app, "disclose", long_text, risk=Risk("high", "disclose_sexual_abuse", ["lex:sexual_abuse:sờ"]))
    admin = await login(api_client, ADMIN_EMAIL, ADMIN_PASSWORD)

    queue = (await api_client.get("/api/v1/cases", headers=admin)).json()
    assert len(queue) == 1
    assert queue[0]["excerpt"].startswith("chú hàng xóm sờ vào người em") and queue[0]["excerpt"].endswith("…")
    assert len(queue[0]["excerpt"]) <= 80
    detail = (await api_client.get(f"/api/v1/cases/{queue[0]['id']}", headers=admin)).json()
    earlier = detail["earlier_messages"]
    # The last 10 before the case, oldest first; the disclosure itself is in the transcript, not here.
    assert [m["text"] for m in earlier] == [f"tin số {n}" for n in range(3, 12)] + ["/affirm"]
    assert earlier[-1]["button"] == "Có" and earlier[0]["button"] is None
    assert detail["signal_labels"] == ["Từ ngữ về xâm hại tình dục: “sờ”"]
    assert [m["shown"] for m in detail["messages"]] == [long_text]

    # The child taps a button in the case: the queue names the tap, never the payload.
    _message(app, "tap2", "/request_counselor", kind="button", risk=Risk("none", None, [], escalate=True))
    queue = (await api_client.get("/api/v1/cases", headers=admin)).json()
    assert queue[0]["excerpt"] == "Bấm nút: Nói chuyện với tư vấn viên"

    campaign = staff_token(app, "nga@example.vn", "campaign_staff")
    assert (await api_client.get("/api/v1/cases", headers=campaign)).status_code == 403
    assert (await api_client.get(f"/api/v1/cases/{queue[0]['id']}", headers=campaign)).status_code == 403
