"""A month of helpline activity (October 2026) for the monthly report's tests: 15 cases, 6 answered
by a counselor, 7 feedback answers, 6 subscribers, a broadcast and 3 quiz runs; one case in November."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import update

from api.cases.models import Case, CaseMessage
from api.cases.ops_models import CaseFeedback
from api.content.models import Broadcast, Quiz, QuizSession, Subscriber
from api.messaging.models import Conversation, InboundMessage
from tests.gateway.cases.casework import disclose

OCTOBER = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
REPLY_SECONDS = [60, 120, 180, 240, 300, 600]  # median 180, p90 600 (nearest rank)
SEED = [("high", "disclose_sexual_abuse")] * 7 + [("concern", "disclose_bullying")] * 6 \
    + [("imminent", "disclose_self_harm")] * 2


def _move_to(app: FastAPI, case_id: int, when: datetime) -> int:
    """The case (closed an hour later), its conversation and its message as if they happened at `when`."""
    with app.state.context.database.transaction() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.opened_at = case.waiting_since = when
        case.status, case.closed_at = "closed", when + timedelta(hours=1)  # a past month's cases are closed
        session.execute(update(Conversation).where(Conversation.id == case.conversation_id).values(created_at=when))
        session.execute(update(InboundMessage).where(InboundMessage.conversation_id == case.conversation_id)
                        .values(received_at=when))
        return case.conversation_id


def seed_october(app: FastAPI) -> list[int]:
    case_ids = [disclose(app, "telegram", str(100 + n), f"m{n}", "…", level, category)
                for n, (level, category) in enumerate(SEED)]
    conversations = [_move_to(app, case_id, OCTOBER + timedelta(days=n)) for n, case_id in enumerate(case_ids)]
    _move_to(app, disclose(app, "telegram", "999", "nov", "…", "high", "disclose_physical_abuse"),
             datetime(2026, 11, 2, tzinfo=UTC))
    with app.state.context.database.transaction() as session:
        for case_id, seconds in zip(case_ids, REPLY_SECONDS, strict=False):
            opened = session.get(Case, case_id).opened_at  # type: ignore[union-attr]
            session.add(CaseMessage(case_id=case_id, author="counselor", text_encrypted="x",
                                    created_at=opened + timedelta(seconds=seconds)))
        for n, answer in enumerate(["helped"] * 5 + ["somewhat"] * 2):
            session.add(CaseFeedback(case_id=case_ids[n], conversation_id=conversations[n], channel="telegram",
                                     asked_at=OCTOBER, answer=answer, answered_at=OCTOBER))
        for conversation_id in conversations[:6]:
            session.add(Subscriber(conversation_id=conversation_id, channel="telegram", opted_in_at=OCTOBER))
        session.add(Broadcast(title="Tháng hành động", text="…", channels=["telegram"], status="sent",
                              created_by="staff", started_at=OCTOBER))
        quiz = Quiz(title="An toàn", questions=[], created_by="staff")
        session.add(quiz)
        session.flush()
        for conversation_id in conversations[:3]:
            session.add(QuizSession(conversation_id=conversation_id, quiz_id=quiz.id, started_at=OCTOBER))
    return case_ids
