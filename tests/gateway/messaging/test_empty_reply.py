"""A Rasa turn that comes back with nothing to say (its actions or the NLG timed out under load)
still gets the child an answer with 111; a conversation paused for a counselor stays silent."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.messaging.texts import SERVICE_UNAVAILABLE
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio

CHAT = 7070707


async def test_an_empty_rasa_answer_gets_the_hotline_fallback(client: httpx.AsyncClient, app: FastAPI,
                                                              fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    fake_rasa.answer_nothing = True
    assert (await post_update(client, text_update(CHAT, "em buồn quá"))).status_code == 200
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="the fallback")
    await drained(app)
    sent = fake_telegram.sent(CHAT)
    assert [m["text"] for m in sent] == [SERVICE_UNAVAILABLE.default] and "111" in sent[0]["text"]
    assert len(fake_rasa.messages) == 1  # answered once, not retried
