"""The web chat API says who wrote each message (bot, counselor with display name, system) and who
answers now (bot, waiting for a counselor, a named counselor). Fake Rasa, real database."""
from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi import FastAPI

from api.cases.presence import CASE_CLOSED, COUNSELOR_JOINED
from api.channels.webchat.mailbox import visible_payload
from tests.gateway.staff import staff_token
from tests.gateway.waiting import eventually


async def _poll(client: httpx.AsyncClient, client_id: str, after: int) -> dict:
    response = await client.get("/webchat/messages", params={"client_id": client_id, "after": after, "wait": 0})
    assert response.status_code == 200
    return response.json()


async def _until(client: httpx.AsyncClient, client_id: str, after: int, count: int) -> dict:
    """Messages after `after`, once there are at least `count` of them."""
    async def enough() -> dict | None:
        data = await _poll(client, client_id, after)
        return data if len(data["messages"]) >= count else None
    return dict(await eventually(enough, what=f"{count} web chat message(s)"))


@pytest.mark.asyncio
async def test_every_message_names_its_author_and_the_state_follows_the_case(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    client_id = secrets.token_hex(16)
    counselor = staff_token(app, "lan@example.vn", role="counselor")  # display name "lan"

    await client.post("/webchat/messages", json={"client_id": client_id, "text": "Xin chào"})
    greeting = await _until(client, client_id, 0, 1)
    assert [(m["author"], m["text"]) for m in greeting["messages"]] == [({"kind": "bot"}, "Mình nghe rồi: Xin chào")]
    assert greeting["status"] == {"mode": "bot"}

    await client.post("/webchat/messages", json={"client_id": client_id, "text": "cứu em với"})
    escalated = await _until(client, client_id, greeting["last_id"], 2)  # the bot's reply, the handoff notice
    assert [m["author"]["kind"] for m in escalated["messages"]] == ["bot", "system"]
    assert escalated["status"] == {"mode": "waiting"}

    [case] = (await client.get("/api/v1/cases", headers=counselor)).json()
    assert (await client.post(f"/api/v1/cases/{case['id']}/accept", headers=counselor)).status_code == 200
    joined = await _until(client, client_id, escalated["last_id"], 1)
    assert [(m["author"], m["text"]) for m in joined["messages"]] == [
        ({"kind": "system", "name": "lan"}, COUNSELOR_JOINED.default)]  # on the page the name is a label
    assert joined["status"] == {"mode": "counselor", "counselor": "lan"}

    sent = await client.post(f"/api/v1/cases/{case['id']}/messages", headers=counselor,
                             json={"text": "Chị ở đây rồi."})
    assert sent.status_code == 202
    spoken = await _until(client, client_id, joined["last_id"], 1)
    assert [(m["author"], m["text"]) for m in spoken["messages"]] == [
        ({"kind": "counselor", "name": "lan"}, "Chị ở đây rồi.")]  # no prefix: the page shows the name

    closed = await client.post(f"/api/v1/cases/{case['id']}/close", headers=counselor,
                               json={"outcome": "referred_111", "note": ""})
    assert closed.status_code == 200
    after_close = await _until(client, client_id, spoken["last_id"], 1)
    assert after_close["messages"][0]["author"] == {"kind": "system"}
    assert after_close["messages"][0]["text"] == CASE_CLOSED.default and "111" in CASE_CLOSED.default
    assert (await _poll(client, client_id, spoken["last_id"]))["status"] == {"mode": "bot"}


def test_only_known_authors_pass_to_the_page() -> None:
    assert visible_payload({"text": "a"}) == {"text": "a", "author": {"kind": "bot"}}
    assert visible_payload({"text": "a", "author": {"kind": "admin", "name": "x"}})["author"] == {"kind": "bot"}
    assert visible_payload({"text": "a", "author": {"kind": "counselor", "name": "  "}})["author"] == {
        "kind": "counselor"}
    assert visible_payload({"author": {"kind": "counselor", "name": "Lan"}}) == {}  # nothing to see, nothing sent
