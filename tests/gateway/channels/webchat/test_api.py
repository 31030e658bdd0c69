"""The web chat page and its HTTP API through the running gateway (fake Rasa, real database)."""
from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.channels.webchat.models import WebChatReply
from api.messaging.models import Conversation, InboundMessage
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio


def new_client_id() -> str:
    return secrets.token_hex(16)


def count(app: FastAPI, model: type) -> int:
    with app.state.context.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def replies(client: httpx.AsyncClient, client_id: str, after: int = 0, wait: float = 25) -> dict:
    response = await client.get("/webchat/messages", params={"client_id": client_id, "after": after, "wait": wait})
    assert response.status_code == 200
    return response.json()


async def test_page_is_served_in_vietnamese_with_hotline_and_quick_exit(client: httpx.AsyncClient) -> None:
    page = await client.get("/chat")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="vi">' in html
    assert 'href="tel:111"' in html and "Gọi 111" in html
    assert 'id="quick-exit"' in html and "Thoát nhanh" in html
    assert 'aria-live="polite"' in html and '<label for="message-input"' in html
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await client.get("/chat/webchat.js")
    assert script.status_code == 200 and "location.replace" in script.text
    assert (await client.get("/chat/webchat.css")).status_code == 200


async def test_message_goes_through_rasa_and_the_reply_reaches_the_mailbox(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa
) -> None:
    client_id = new_client_id()
    response = await client.post("/webchat/messages", json={"client_id": client_id, "text": "Xin chào"})
    assert response.status_code == 202
    data = await replies(client, client_id)
    assert [m["text"] for m in data["messages"]] == ["Mình nghe rồi: Xin chào"]
    assert data["last_id"] == data["messages"][0]["id"]
    [message] = fake_rasa.messages
    assert message["sender"].startswith("web:") and client_id not in message["sender"]
    # Nothing newer yet: a short wait returns an empty list with the same cursor.
    later = await replies(client, client_id, after=data["last_id"], wait=0.3)
    assert later == {"messages": [], "last_id": data["last_id"], "status": {"mode": "bot"}}
    # Another browser sees nothing of it.
    assert (await replies(client, new_client_id(), wait=0))["messages"] == []
    with app.state.context.database.session() as session:
        row = session.scalar(select(WebChatReply))
        assert row is not None and "Mình nghe" not in row.payload_encrypted


async def test_disclosure_reply_shows_111(client: httpx.AsyncClient) -> None:
    client_id = new_client_id()
    await client.post("/webchat/messages", json={"client_id": client_id, "text": "Cứu em với"})
    data = await replies(client, client_id)
    assert any("111" in m.get("text", "") for m in data["messages"])


async def test_buttons_come_back_as_quick_replies_and_a_tap_sends_the_payload(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    client_id = new_client_id()
    await client.post("/webchat/messages", json={"client_id": client_id, "text": "cho xem nút"})
    [offer] = (await replies(client, client_id))["messages"]
    assert offer["buttons"][0] == {"title": "Có", "payload": "/affirm"}
    response = await client.post("/webchat/messages",
                                 json={"client_id": client_id, "text": "Có", "payload": "/affirm"})
    assert response.status_code == 202
    await eventually(lambda: len(fake_rasa.messages) == 2)
    assert fake_rasa.texts()[1] == "/affirm"


async def test_a_retried_post_is_stored_once(client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa) -> None:
    body = {"client_id": new_client_id(), "text": "Chào", "message_id": "abcdef0123456789"}
    first = await client.post("/webchat/messages", json=body)
    second = await client.post("/webchat/messages", json=body)
    assert first.status_code == second.status_code == 202
    assert second.json()["duplicate"] is True
    await replies(client, body["client_id"])
    assert count(app, InboundMessage) == 1 and len(fake_rasa.messages) == 1


@pytest.mark.parametrize("body", [
    {"client_id": "short", "text": "hi"},
    {"client_id": "x" * 65, "text": "hi"},
    {"client_id": "abc/def<script>0123456", "text": "hi"},
    {"client_id": "0123456789abcdef", "text": ""},
    {"client_id": "0123456789abcdef", "text": "   "},
    {"client_id": "0123456789abcdef", "text": "a" * 4097},
    {"client_id": "0123456789abcdef", "text": "hi", "payload": "p" * 301},
    {"client_id": "0123456789abcdef", "text": "hi", "message_id": "../../x"},
    {"client_id": "0123456789abcdef", "text": "hi", "user": "extra field"},
    {"client_id": "0123456789abcdef", "text": 5},
    {"text": "hi"},
    ["not", "an", "object"],
])
async def test_bad_input_is_a_4xx_and_stores_nothing(client: httpx.AsyncClient, app: FastAPI, body: object) -> None:
    response = await client.post("/webchat/messages", json=body)
    assert response.status_code == 422
    assert response.json()["ok"] is False
    assert count(app, InboundMessage) == 0 and count(app, Conversation) == 0


async def test_malformed_and_oversized_bodies(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post("/webchat/messages", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    response = await client.post("/webchat/messages", content=b'{"text":"' + b"a" * 40_000 + b'"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert count(app, InboundMessage) == 0


@pytest.mark.parametrize("params", [
    {"client_id": "short"}, {"client_id": "0123456789abcdef", "after": -1},
    {"client_id": "0123456789abcdef", "wait": 60}, {"client_id": "0123456789abcdef", "after": "x"}, {},
])
async def test_bad_poll_parameters_are_a_4xx(client: httpx.AsyncClient, params: dict) -> None:
    response = await client.get("/webchat/messages", params=params)
    assert response.status_code == 422


async def test_a_flood_from_one_browser_is_throttled(client: httpx.AsyncClient) -> None:
    client_id = new_client_id()
    statuses = [
        (await client.post("/webchat/messages", json={"client_id": client_id, "text": f"tin {i}"})).status_code
        for i in range(14)
    ]
    assert statuses[:10] == [202] * 10
    assert 429 in statuses[10:]
