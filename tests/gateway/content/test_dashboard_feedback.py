"""The content dashboard counts the after-chat answers (case_feedback) of its period, each answer on its
own, 1 to 4 shown as "<5"; questions asked before the period stay out; the CSV has them too."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from api.cases.models import Case
from api.cases.ops_models import CaseFeedback
from api.db.base import utcnow
from tests.gateway.cases.casework import disclose
from tests.gateway.staff import staff_token

pytestmark = pytest.mark.asyncio


def _feedback(app: FastAPI, n: int, answer: str | None, days_ago: float) -> None:
    case_id = disclose(app, "telegram", f"fb{n}", f"fb{n}", "…", "concern", "disclose_bullying")
    asked = utcnow() - timedelta(days=days_ago)
    with app.state.context.database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.add(CaseFeedback(case_id=case_id, conversation_id=case.conversation_id, channel="telegram",
                                 asked_at=asked, answer=answer,
                                 answered_at=asked + timedelta(minutes=2) if answer else None))


async def test_dashboard_counts_after_chat_answers(client: httpx.AsyncClient, app: FastAPI) -> None:
    answers = ["helped"] * 6 + ["somewhat"] * 2 + [None]  # one question not answered
    for n, answer in enumerate(answers):
        _feedback(app, n, answer, days_ago=1 + n)
    for n in range(3):  # answered, but asked before the 30 days shown
        _feedback(app, 100 + n, "not_helped", days_ago=40)
    headers = staff_token(app, "lan@example.org")

    month = (await client.get("/api/v1/dashboard?days=30", headers=headers)).json()
    assert month["feedback"] == [
        {"answer": "helped", "label": "Có, giúp được", "count": 6},
        {"answer": "somewhat", "label": "Một phần", "count": "<5"},
        {"answer": "not_helped", "label": "Chưa giúp được", "count": 0},
    ]
    longer = (await client.get("/api/v1/dashboard?days=90", headers=headers)).json()
    assert [row["count"] for row in longer["feedback"]] == [6, "<5", "<5"]
    week = (await client.get("/api/v1/dashboard?days=3", headers=headers)).json()
    assert [row["count"] for row in week["feedback"]] == ["<5", 0, 0]  # asked 1 and 2 days ago

    csv_text = (await client.get("/api/v1/dashboard.csv?days=30", headers=headers)).text
    assert "feedback,helped,\"Có, giúp được\",6" in csv_text
    assert "feedback,somewhat,Một phần,<5" in csv_text
