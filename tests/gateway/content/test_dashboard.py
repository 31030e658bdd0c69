"""Dashboard figures and CSV: counts only, never message text or ids."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.cases.models import Case, CaseMessage
from api.db.base import utcnow
from api.messaging.models import Conversation
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio


async def test_dashboard_counts_without_text_or_ids(client: httpx.AsyncClient, app: FastAPI,
                                                    fake_telegram: FakeTelegram) -> None:
    for chat, text in ((1001, "xin chào"), (1001, "bạn là ai"), (1002, "cứu em với")):
        assert (await post_update(client, text_update(chat, text))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(1001)) == 2 and len(fake_telegram.sent(1002)) >= 1,
                     what="replies")
    with app.state.context.database.transaction() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.channel == "telegram")).first()
        assert conversation is not None
        opened = utcnow() - timedelta(minutes=30)
        case = Case(conversation_id=conversation.id, sender_id=conversation.sender_id, channel="telegram",
                    level="high", category="disclose_physical_abuse", opened_at=opened)
        session.add(case)
        session.flush()
        session.add(CaseMessage(case_id=case.id, author="counselor", text_encrypted="x",
                                created_at=opened + timedelta(minutes=4)))
    headers = staff_token(app, "lan@example.org")
    data = (await client.get("/api/v1/dashboard?days=7", headers=headers)).json()
    today = data["conversations_per_day"][-1]
    assert today["telegram"] == 2
    assert data["messages"] == 3
    assert {t["topic"]: t["messages"] for t in data["top_topics"]} == {"chitchat": 2, "ask_help": 1}
    assert data["fallback_rate"] == 0.0
    # The "cứu" message opened a case through the pipeline; the other one was added above.
    assert data["disclosures"] == [{"level": "high", "category": "disclose_physical_abuse", "cases": 1},
                                   {"level": "imminent", "category": "danger_now", "cases": 1}]
    assert data["first_reply_minutes"]["cases_answered"] == 1
    assert data["first_reply_minutes"]["median"] == 4.0
    text_dump = str(data)
    assert "xin chào" not in text_dump and conversation.sender_id not in text_dump and "'id'" not in text_dump

    csv_text = (await client.get("/api/v1/dashboard.csv?days=7", headers=headers)).text
    assert csv_text.splitlines()[0] == "section,key,detail,value"
    assert "disclosures,high,disclose_physical_abuse,1" in csv_text
    assert "first_reply_minutes,median,,4.0" in csv_text
    counselor = staff_token(app, "tv@example.org", role="counselor")
    assert (await client.get("/api/v1/dashboard", headers=counselor)).status_code == 403
