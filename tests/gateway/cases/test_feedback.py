"""The after-chat question: asked when a counselor closes a case (after the closing messages),
never after an imminent case, at most once; the answer (a button, or 1/2/3 on Zalo) is stored as a
code without the child's text, and Rasa never sees it."""
from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.cases.feedback import FEEDBACK_QUESTION, FEEDBACK_THANKS, FeedbackHooks, ask_after_close
from api.cases.models import Case
from api.cases.ops_models import CaseFeedback
from api.messaging.models import Conversation, InboundMessage
from api.settings import Settings
from tests.gateway.cases.casework import app_of, disclose, served, staff
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import callback_update, post_update
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHILD = 5550101
CHILD_IN_DANGER = 5550102


def _questions(fake_telegram: FakeTelegram, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake_telegram.sent(chat) if m["text"] == FEEDBACK_QUESTION.default]


def _feedback(app: FastAPI) -> dict[int, CaseFeedback]:
    with app.state.context.database.session() as session:
        return {f.case_id: f for f in session.scalars(select(CaseFeedback))}


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    return [row[0] for row in markup["inline_keyboard"]]


async def test_asked_after_close_answered_by_button(settings: Settings, fake_telegram: FakeTelegram,
                                                     fake_rasa: FakeRasa) -> None:
    async with served(settings) as http:
        app = app_of(http)
        _, lan = staff(app, "lan@example.vn", "counselor")
        case_id = disclose(app, "telegram", str(CHILD), "a", "bạn cùng lớp đánh em", "high", "disclose_bullying")
        danger_id = disclose(app, "telegram", str(CHILD_IN_DANGER), "b", "em muốn chết", "imminent",
                             "disclose_self_harm")
        for case in (case_id, danger_id):
            assert (await http.post(f"/api/v1/cases/{case}/accept", headers=lan)).status_code == 200
            assert (await http.post(f"/api/v1/cases/{case}/close", headers=lan,
                                    json={"outcome": "advised"})).status_code == 200

        question = (await eventually(lambda: _questions(fake_telegram, CHILD), what="the question"))[0]
        assert [b["text"] for b in _buttons(question)] == ["Có, giúp được", "Một phần", "Chưa giúp được"]
        texts = [m["text"] for m in fake_telegram.sent(CHILD)]
        assert texts.index(FEEDBACK_QUESTION.default) == len(texts) - 1  # after the closing messages
        await drained(app)
        assert not _questions(fake_telegram, CHILD_IN_DANGER)  # never after an imminent case
        assert set(_feedback(app)) == {case_id}

        with app.state.context.database.transaction() as session:  # a second close asks nothing more
            case = session.get(Case, case_id)
            assert case is not None
            assert not ask_after_close(session, case, app.state.context.user_texts, app.state.context.crypto)

        asked_rasa = len(fake_rasa.texts())
        tap = callback_update(CHILD, _buttons(question)[0]["callback_data"])
        assert (await post_update(http, tap)).status_code == 200
        await eventually(lambda: _feedback(app)[case_id].answer == "helped", what="the answer")
        await eventually(lambda: FEEDBACK_THANKS.default in [m["text"] for m in fake_telegram.sent(CHILD)],
                         what="the thanks")
        assert len(fake_rasa.texts()) == asked_rasa  # the answer never went to Rasa
        assert (await post_update(http, callback_update(CHILD, _buttons(question)[2]["callback_data"]))
                ).status_code == 200
        await drained(app)
        assert _feedback(app)[case_id].answer == "helped"  # answered once; a late tap changes nothing
        assert len(_questions(fake_telegram, CHILD)) == 1


async def test_zalo_typed_number_and_other_messages(settings: Settings) -> None:
    async with served(settings) as http:
        app = app_of(http)
        _, lan = staff(app, "lan@example.vn", "counselor")
        case_id = disclose(app, "zalo", "z-1", "a", "em bị bỏ đói", "concern", "disclose_neglect")
        assert (await http.post(f"/api/v1/cases/{case_id}/close", headers=lan,
                                json={"outcome": "advised"})).status_code == 200
        await eventually(lambda: case_id in _feedback(app), what="the question recorded")
        hooks = FeedbackHooks(app.state.context.settings, app.state.context.user_texts)
        async with app.state.context.write_gate.transaction() as session:
            conversation = session.scalar(select(Conversation).where(Conversation.channel == "zalo"))
            inbound = session.scalar(select(InboundMessage).where(InboundMessage.conversation_id == conversation.id))
            assert await hooks.before_rasa(session, conversation, inbound, "em vẫn buồn lắm") is None
            replies = await hooks.before_rasa(session, conversation, inbound, "2")
            assert replies is not None and replies[0]["text"] == FEEDBACK_THANKS.default
            assert await hooks.before_rasa(session, conversation, inbound, "3") is None  # answered already
        answer = _feedback(app)[case_id]
        assert answer.answer == "somewhat" and answer.answered_at is not None
        assert {c.name for c in CaseFeedback.__table__.columns} == {
            "id", "case_id", "conversation_id", "channel", "asked_at", "answer", "answered_at"}  # no text kept
