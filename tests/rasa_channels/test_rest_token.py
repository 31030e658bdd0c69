"""The REST channel named in credentials.yml refuses a request without the server's token."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from rasa_auth.rest import TokenRestInput

TOKEN = "c0ffee-token"


class Served:
    """A Sanic app with the channel registered as Rasa registers it, driven over ASGI."""

    def __init__(self, channel: TokenRestInput) -> None:
        self.turns: List[str] = []
        self.app = Sanic(f"rest_token_{id(self)}")

        async def on_new_message(message: UserMessage) -> None:
            self.turns.append(message.text or "")
            await message.output_channel.send_text_message(message.sender_id, "đã nhận")

        self.app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/rest")
        self.started = False

    async def post(self, query: str = "", headers: Tuple[Tuple[bytes, bytes], ...] = ()) -> Tuple[int, Any]:
        if not self.started:
            self.app.asgi = True
            await self.app._startup()  # what Sanic's ASGI lifespan does before the first request
            self.started = True
        body = json.dumps({"sender": "chat-1", "message": "xin chào"}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/webhooks/rest/webhook", "raw_path": b"/webhooks/rest/webhook",
                 "query_string": query.encode(), "root_path": "", "server": ("127.0.0.1", 5005),
                 "client": ("127.0.0.1", 40000),
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()), *headers]}
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        sent: List[Dict[str, Any]] = []

        async def receive() -> Dict[str, Any]:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: Dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, json.loads(payload)


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sanic rewrites its request classes at each start-up; test mode (as sanic-testing sets) keeps the
    originals, so several apps can start in one process."""
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture
def served() -> Served:
    return Served(TokenRestInput(token=TOKEN))


@pytest.mark.asyncio
async def test_a_request_without_the_token_is_refused_and_runs_no_turn(served: Served) -> None:
    status, body = await served.post()
    assert status == 401
    assert body["error"] == "unauthorized"
    assert served.turns == []


@pytest.mark.asyncio
async def test_a_wrong_token_is_refused(served: Served) -> None:
    assert (await served.post("token=not-it"))[0] == 401
    assert (await served.post(headers=((b"authorization", b"Bearer not-it"),)))[0] == 401
    assert (await served.post(headers=((b"authorization", f"Basic {TOKEN}".encode()),)))[0] == 401
    assert served.turns == []


@pytest.mark.asyncio
async def test_the_token_as_query_or_bearer_passes_through_to_rasa(served: Served) -> None:
    status, body = await served.post(f"token={TOKEN}")
    assert status == 200
    assert body == [{"recipient_id": "chat-1", "text": "đã nhận"}]
    status, _ = await served.post(headers=((b"authorization", f"Bearer {TOKEN}".encode()),))
    assert status == 200
    assert served.turns == ["xin chào", "xin chào"]


@pytest.mark.asyncio
async def test_without_a_configured_token_every_request_is_refused() -> None:
    served = Served(TokenRestInput(token=""))
    assert (await served.post("token="))[0] == 401
    assert (await served.post(headers=((b"authorization", b"Bearer "),)))[0] == 401
    assert served.turns == []


@pytest.mark.asyncio
async def test_the_development_setting_lets_requests_without_a_token_through() -> None:
    served = Served(TokenRestInput(token=TOKEN, allow_without_token=True))
    assert (await served.post())[0] == 200
    assert served.turns == ["xin chào"]


def test_from_credentials_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    monkeypatch.delenv("RASA_REST_WITHOUT_TOKEN", raising=False)
    channel = TokenRestInput.from_credentials(None)
    assert (channel.token, channel.allow_without_token) == (TOKEN, False)
    monkeypatch.setenv("RASA_REST_WITHOUT_TOKEN", "true")
    assert TokenRestInput.from_credentials({}).allow_without_token is True
    # the channel keeps Rasa's name, so its URL stays /webhooks/rest/webhook
    assert TokenRestInput.name() == "rest"


def test_credentials_yml_names_the_token_channel_and_not_the_open_one() -> None:
    from rasa.core.run import create_http_input_channels

    channels = create_http_input_channels(None, "credentials.yml")
    assert [type(c) for c in channels] == [TokenRestInput]
