"""An edited response reaches the child on the very next message: Telegram → gateway → a Rasa
stand-in that renders its reply through the gateway's /nlg (as endpoints.yml makes Rasa do)."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from api.main import create_app
from api.settings import Settings
from tests.gateway.fakes.server import ServerThread
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.live import LiveGateway
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually_blocking

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


class NlgRasa:
    """Answers every message with utter_greet, asking the NLG endpoint for its text."""

    def __init__(self) -> None:
        self.nlg_url = ""

        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            async with httpx.AsyncClient(timeout=5) as http:
                rendered = (await http.post(self.nlg_url, json={
                    "response": "utter_greet", "arguments": {}, "channel": {"name": "rest"},
                    "tracker": {"sender_id": body["sender"], "slots": {"name": "Minh"}}})).json()
            return JSONResponse([{"recipient_id": body["sender"], "text": rendered["text"]},
                                 {"recipient_id": body["sender"], "custom": {
                                     "type": "risk", "level": "none", "category": None, "signals": [],
                                     "escalate": False, "counselor_requested": False, "intent": "greet"}}])

        async def root(_request: Request) -> PlainTextResponse:
            return PlainTextResponse("Hello from Rasa: 3.6.21")

        self.server = ServerThread(Starlette(routes=[Route("/", root),
                                                     Route("/webhooks/rest/webhook", webhook, methods=["POST"])]))


@pytest.fixture
def nlg_rasa() -> Iterator[NlgRasa]:
    rasa = NlgRasa()
    rasa.server.start()
    yield rasa
    rasa.server.stop()


def test_an_edit_is_used_for_the_next_telegram_message(settings: Settings, nlg_rasa: NlgRasa,
                                                       fake_telegram: FakeTelegram) -> None:
    app = create_app(settings.model_copy(update={"rasa_url": nlg_rasa.server.url}))
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    with LiveGateway(app) as gateway:
        nlg_rasa.nlg_url = f"{gateway.url}/nlg"
        httpx.post(f"{gateway.url}/webhooks/telegram", json=text_update(4242, "chào bot"), headers=headers)
        eventually_blocking(lambda: len(fake_telegram.sent(4242)) == 1, what="first reply")
        assert fake_telegram.sent(4242)[0]["text"] == "Chào Minh! Mình là bạn đồng hành của chương trình."

        staff = staff_token(app, "lan@example.org")
        saved = httpx.post(f"{gateway.url}/api/v1/responses/utter_greet/versions", headers=staff,
                           json={"variations": [{"text": "Chào {name}! Tuần này mình có đố vui mới đó."}]})
        assert saved.status_code == 201

        httpx.post(f"{gateway.url}/webhooks/telegram", json=text_update(4242, "chào lần nữa"), headers=headers)
        eventually_blocking(lambda: len(fake_telegram.sent(4242)) == 2, what="second reply")
        assert fake_telegram.sent(4242)[1]["text"] == "Chào Minh! Tuần này mình có đố vui mới đó."
