"""Bad input answers a clear 4xx, never a 500: deep JSON, lone surrogates and control characters,
integers past 64 bits, nulls for required fields, weak passwords, over-long messages; and what no
handler expected still answers a JSON 500 without a traceback."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from api.main import create_app
from api.messaging.inbound import MAX_INBOUND_TEXT_CHARS
from api.messaging.models import InboundMessage
from api.settings import Settings
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, post_update, text_update
from tests.gateway.fakes.zalo import FakeZalo
from tests.gateway.fakes.zalo_events import signed_request, text_event, zalo_settings
from tests.gateway.staff import staff_settings, staff_token

pytestmark = pytest.mark.asyncio

TOO_BIG = 2**64
CLIENT_ID = "bad-input-client-0001"
DEEP = ('{"x":' * 5000 + "1" + "}" * 5000).encode()  # deeper than the JSON decoder's own recursion limit
NESTED_40 = json.dumps(json.loads('{"x":' * 40 + "1" + "}" * 40)).encode()  # decodes, but past 32 levels


@pytest_asyncio.fixture
async def gateway(settings: Settings, fake_zalo: FakeZalo) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(zalo_settings(staff_settings(settings), fake_zalo))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


def _raw(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: a lone surrogate travels as the escape \ud800


def assert_4xx(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("body", [DEEP, NESTED_40], ids=["deep", "nested-40"])
async def test_deeply_nested_json_is_refused_on_every_body_route(gateway: tuple[FastAPI, httpx.AsyncClient],
                                                                  body: bytes) -> None:
    app, http = gateway
    admin = staff_token(app, "deep-admin@example.vn", role="admin")
    assert_4xx(await http.post("/webchat/messages", content=body, headers=JSON))
    assert_4xx(await http.post("/nlg", content=body, headers=JSON))
    assert_4xx(await post_update(http, body))
    # Zalo: refused before its signature is even checked.
    assert_4xx(await http.post("/webhooks/zalo", content=body, headers={**JSON, "X-ZEvent-Signature": "mac=00"}))
    assert_4xx(await http.post("/api/v1/auth/login", content=body, headers=JSON))
    assert_4xx(await http.post("/api/v1/responses/utter_greet/preview", content=body, headers={**JSON, **admin}))


STRAY_CHARACTERS = ["\ud800", "a\udfffb", "nul\x00byte", "bell\x07"]


@pytest.mark.parametrize("text", STRAY_CHARACTERS)
async def test_lone_surrogates_and_control_characters_are_refused_by_the_api(
        gateway: tuple[FastAPI, httpx.AsyncClient], text: str) -> None:
    _, http = gateway
    assert_4xx(await http.post("/api/v1/auth/login", content=_raw({"email": f"{text}@example.vn",
                                                                   "password": "some-password-1"}), headers=JSON))
    assert_4xx(await http.post("/nlg", content=_raw({"response": text}), headers=JSON))


@pytest.mark.parametrize("text", STRAY_CHARACTERS)
async def test_a_childs_message_with_stray_characters_is_kept_with_them_replaced(
        gateway: tuple[FastAPI, httpx.AsyncClient], text: str) -> None:
    """A platform does not resend a refused update for ever: the message is stored, the stray
    characters replaced by U+FFFD, on every channel."""
    app, http = gateway
    webchat = await http.post("/webchat/messages", content=_raw({"client_id": CLIENT_ID, "text": f"cứu {text}"}),
                              headers=JSON)
    assert webchat.status_code < 300, webchat.text[:300]
    assert (await post_update(http, _raw(text_update(4242, f"cứu {text}")))).status_code == 200
    body, headers = signed_request(text_event(f"cứu {text}"))
    assert (await http.post("/webhooks/zalo", content=body, headers=headers)).status_code == 200
    with app.state.context.database.session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        texts = [app.state.context.crypto.decrypt(row.text_encrypted) for row in rows if row.text_encrypted]
    assert len(texts) == 3
    for stored in texts:
        assert stored.startswith("cứu ") and "\ufffd" in stored
        assert "\x00" not in stored and not any("\ud800" <= ch <= "\udfff" for ch in stored)


async def test_integers_past_64_bits_answer_422(gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, http = gateway
    admin = staff_token(app, "int-admin@example.vn", role="admin")
    calls = [
        http.get(f"/api/v1/cases/{TOO_BIG}", headers=admin),
        http.post(f"/api/v1/cases/{TOO_BIG}/accept", headers=admin),
        http.get(f"/api/v1/broadcasts/{TOO_BIG}", headers=admin),
        http.post(f"/api/v1/inbox/{TOO_BIG}/review", json={"action": "dismiss"}, headers=admin),
        http.post(f"/api/v1/responses/utter_greet/versions/{TOO_BIG}/rollback", headers=admin),
        http.get(f"/api/v1/responses/utter_greet/diff?from={TOO_BIG}&to=1", headers=admin),
        http.patch(f"/api/v1/users/{TOO_BIG}", json={"display_name": "x"}, headers=admin),
        http.get(f"/webchat/messages?client_id={CLIENT_ID}&after={TOO_BIG}"),
        # In a body too.
        http.post("/api/v1/cases/1/transfer", content=_raw({"user_id": TOO_BIG}), headers={**JSON, **admin}),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 422, (response.request.url, response.status_code, response.text[:200])


@pytest.mark.parametrize("field", ["role", "display_name", "active", "password"])
async def test_patch_user_refuses_null_for_required_fields(gateway: tuple[FastAPI, httpx.AsyncClient],
                                                           field: str) -> None:
    app, http = gateway
    admin = staff_token(app, "patch-admin@example.vn", role="admin")
    created = await http.post("/api/v1/users", headers=admin, json={
        "email": "patched@example.vn", "password": "a-good-long-passphrase", "role": "counselor"})
    assert created.status_code == 201, created.text
    response = await http.patch(f"/api/v1/users/{created.json()['id']}", json={field: None}, headers=admin)
    assert response.status_code == 422, response.text
    unchanged = (await http.get("/api/v1/users", headers=admin)).json()
    patched = next(u for u in unchanged if u["email"] == "patched@example.vn")
    assert (patched["role"], patched["active"]) == ("counselor", True)


@pytest.mark.parametrize("password", ["0000000000", "000000000000", "password1234", "MatKhau12345", "short"])
async def test_weak_passwords_are_refused_where_passwords_are_set(gateway: tuple[FastAPI, httpx.AsyncClient],
                                                                  password: str) -> None:
    app, http = gateway
    admin = staff_token(app, "policy-admin@example.vn", role="admin")
    refused = await http.post("/api/v1/users", headers=admin, json={
        "email": "weak@example.vn", "password": password, "role": "counselor"})
    assert refused.status_code == 422, refused.text
    users = (await http.get("/api/v1/users", headers=admin)).json()
    me = next(u for u in users if u["email"] == "policy-admin@example.vn")
    assert (await http.patch(f"/api/v1/users/{me['id']}", json={"password": password},
                             headers=admin)).status_code == 422
    assert (await http.post("/api/v1/users", headers=admin, json={
        "email": "strong@example.vn", "password": "tram-nam-trong-coi", "role": "counselor"})).status_code == 201


async def test_web_chat_refuses_a_too_long_message_kindly_in_vietnamese(
        gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = gateway
    for length, status in [(100_000, 413), (MAX_INBOUND_TEXT_CHARS + 1, 422)]:
        response = await http.post("/webchat/messages", json={"client_id": CLIENT_ID, "text": "a" * length})
        assert response.status_code == status
        assert "dài quá" in response.json()["message"]
    accepted = await http.post("/webchat/messages", json={"client_id": CLIENT_ID,
                                                          "text": "ạ" * MAX_INBOUND_TEXT_CHARS})
    assert accepted.status_code == 202, accepted.text


async def test_an_over_long_telegram_or_zalo_text_is_stored_cut_and_marked(
        gateway: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, http = gateway
    assert (await post_update(http, text_update(4343, "b" * 100_000), secret=TELEGRAM_SECRET)).status_code == 200
    body, headers = signed_request(text_event("c" * 20_000))
    assert (await http.post("/webhooks/zalo", content=body, headers=headers)).status_code == 200
    crypto = app.state.context.crypto
    with app.state.context.database.session() as session:
        stored = {row.channel: row for row in session.scalars(select(InboundMessage))}
    assert len(crypto.decrypt(stored["telegram"].text_encrypted)) == MAX_INBOUND_TEXT_CHARS
    assert stored["telegram"].message_metadata["truncated_from_chars"] == 100_000
    assert len(crypto.decrypt(stored["zalo"].text_encrypted)) == MAX_INBOUND_TEXT_CHARS
    assert stored["zalo"].message_metadata["truncated_from_chars"] == 20_000


async def test_an_unexpected_error_answers_a_json_500_without_details(settings: Settings) -> None:
    app = create_app(staff_settings(settings))

    @app.get("/api/v1/test-broken")
    async def broken() -> None:
        raise RuntimeError("secret internals: /srv/app/file.py line 3")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            response = await http.get("/api/v1/test-broken")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert "internals" not in response.text and "Traceback" not in response.text
    assert response.json()["detail"]
