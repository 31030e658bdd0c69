"""POST /webhooks/zalo through the running gateway: fake Zalo API, fake Rasa, real database."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.channels.zalo.models import ZaloConversationState
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.zalo import FakeZalo
from tests.gateway.fakes.zalo_events import (
    OTHER_USER_ID,
    USER_ID,
    ZALO_APP_ID,
    attachment_event,
    follower_event,
    sign,
    signed_request,
    text_event,
)
from tests.gateway.waiting import eventually

pytestmark = pytest.mark.asyncio

WEBHOOK = "/webhooks/zalo"


def count(app: FastAPI, model: type) -> int:
    with app.state.context.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def post_event(client: httpx.AsyncClient, event: dict) -> httpx.Response:
    body, headers = signed_request(event)
    return await client.post(WEBHOOK, content=body, headers=headers)


def zalo_sender_ids(fake_rasa: FakeRasa) -> list[str]:
    return [m["sender"] for m in fake_rasa.messages]


@pytest.mark.parametrize("case", ["missing", "wrong", "other_secret", "other_app", "other_body", "no_mac_prefix"])
async def test_bad_or_missing_signature_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, case: str
) -> None:
    event = text_event("Xin chào")
    body, headers = signed_request(event)
    if case == "missing":
        headers.pop("X-ZEvent-Signature")
    elif case == "wrong":
        headers["X-ZEvent-Signature"] = "mac=" + "0" * 64
    elif case == "other_secret":
        headers["X-ZEvent-Signature"] = sign(body, timestamp=event["timestamp"], secret="not-our-secret")
    elif case == "other_app":
        event = {**event, "app_id": "999"}
        body = json.dumps(event).encode()
        headers["X-ZEvent-Signature"] = sign(body, app_id="999", timestamp=event["timestamp"])
    elif case == "other_body":
        body = body.replace(b"Xin ch", b"Tam bi")
    elif case == "no_mac_prefix":
        headers["X-ZEvent-Signature"] = headers["X-ZEvent-Signature"].removeprefix("mac=")
    response = await client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 403
    assert count(app, InboundMessage) == 0
    assert count(app, Conversation) == 0
    assert fake_rasa.messages == []


async def test_malformed_json_is_a_400_and_oversized_a_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post(WEBHOOK, content=b'{"event_name": "user_send_text",',
                                 headers={"X-ZEvent-Signature": "mac=00"})
    assert response.status_code == 400
    limit = app.state.context.settings.max_body_bytes
    event = text_event("a" * (limit + 10))
    body, headers = signed_request(event)
    response = await client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 413
    # Signed but missing the fields its type needs: a clear 400, nothing stored.
    event = text_event("x")
    del event["message"]["msg_id"]
    response = await post_event(client, event)
    assert response.status_code == 400
    assert count(app, InboundMessage) == 0


async def test_text_goes_to_rasa_under_a_pseudonym_and_the_reply_to_zalo(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, fake_zalo: FakeZalo
) -> None:
    response = await post_event(client, text_event("Xin chào bạn"))
    assert response.status_code == 200 and response.json()["ok"]
    texts = await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert texts == ["Mình nghe rồi: Xin chào bạn"]
    [message] = fake_rasa.messages
    assert message["sender"].startswith("zalo:") and USER_ID not in json.dumps(message)
    assert message["metadata"]["channel"] == "zalo"
    [sent] = fake_zalo.sent()
    assert sent.user_id == USER_ID and sent.access_token == "access-0"
    with app.state.context.database.session() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None and USER_ID not in conversation.platform_user_id_encrypted
        inbound = session.scalar(select(InboundMessage))
        assert inbound is not None and "Xin chào" not in (inbound.text_encrypted or "")


async def test_duplicate_deliveries_are_handled_once(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, fake_zalo: FakeZalo
) -> None:
    event = text_event("Chào")
    first = await post_event(client, event)
    second = await post_event(client, event)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    await eventually(lambda: fake_zalo.delivered_texts())
    follow = follower_event("follow")
    assert (await post_event(client, follow)).status_code == 200
    assert (await post_event(client, follow)).json()["duplicate"] is True
    await eventually(lambda: len(fake_zalo.delivered_texts()) == 2)
    assert count(app, InboundMessage) == 2
    assert len(fake_rasa.messages) == 1
    with app.state.context.database.session() as session:
        keys = session.scalars(select(InboundMessage.platform_message_key)).all()
    assert all(USER_ID not in key for key in keys)  # follow keys hold the pseudonym, not the id


@pytest.mark.parametrize(("event_name", "attachment"), [
    ("user_send_image", "image"), ("user_send_sticker", "sticker"), ("user_send_link", "link"),
])
async def test_non_text_gets_a_kind_reply_with_111(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_zalo: FakeZalo, event_name: str, attachment: str
) -> None:
    assert (await post_event(client, attachment_event(event_name, attachment))).status_code == 200
    [text] = await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert "111" in text and "chữ" in text
    assert fake_rasa.messages == []


async def test_follow_gets_the_welcome(client: httpx.AsyncClient, app: FastAPI, fake_zalo: FakeZalo) -> None:
    assert (await post_event(client, follower_event("follow", user_id=OTHER_USER_ID))).status_code == 200
    [text] = await eventually(lambda: fake_zalo.delivered_texts(OTHER_USER_ID))
    assert "111" in text and "riêng tư" in text.lower()


async def test_unfollow_marks_the_conversation_and_sends_nothing(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, fake_zalo: FakeZalo
) -> None:
    await post_event(client, text_event("Chào"))
    await eventually(lambda: fake_zalo.delivered_texts())
    assert (await post_event(client, follower_event("unfollow"))).status_code == 200

    def unsubscribed() -> bool:
        with app.state.context.database.session() as session:
            state = session.scalar(select(ZaloConversationState))
            done = session.scalar(select(func.count()).select_from(InboundMessage)
                                  .where(InboundMessage.status == "done"))
            return state is not None and state.unsubscribed_at is not None and done == 2

    await eventually(unsubscribed)
    assert len(fake_zalo.sent()) == 1  # the welcome-back or any reply is not sent to an unfollower
    assert len(fake_rasa.messages) == 1


@pytest.mark.parametrize("event_name", ["oa_send_text", "user_received_message", "user_seen_message"])
async def test_echoes_and_receipts_are_ignored(
    client: httpx.AsyncClient, app: FastAPI, event_name: str
) -> None:
    event = {"event_name": event_name, "app_id": ZALO_APP_ID, "sender": {"id": "1646843870823903717"},
             "recipient": {"id": USER_ID}, "message": {"msg_id": "echo1", "text": "hi", "msg_ids": ["a"]},
             "timestamp": "1717061839700"}
    response = await post_event(client, event)
    assert response.status_code == 200 and response.json().get("ignored") == event_name
    assert count(app, InboundMessage) == 0


def offered_choices(app: FastAPI) -> list[dict]:
    with app.state.context.database.session() as session:
        return [c for c in session.scalars(select(ZaloConversationState.choices)) if c]


async def test_numbered_options_are_mapped_back_to_payloads(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, fake_zalo: FakeZalo
) -> None:
    await post_event(client, text_event("cho mình xem nút"))
    [offer] = await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert "\n1. Có\n2. An toàn trên mạng\n" in offer
    # The sender stores the options just after Zalo accepted the message: a reply typed in between
    # is plain text (a child cannot answer that fast; the test can).
    await eventually(lambda: offered_choices(app))

    await post_event(client, text_event("số 2"))
    await eventually(lambda: len(fake_rasa.messages) == 2)
    assert fake_rasa.texts()[1].startswith("/choose_topic")  # the button's payload, not "số 2"
    await eventually(lambda: len(fake_zalo.delivered_texts(USER_ID)) == 2)

    # Options answer only the next message: a later "1" is plain text again.
    await post_event(client, text_event("1"))
    await eventually(lambda: len(fake_rasa.messages) == 3)
    assert fake_rasa.texts()[2] == "1"


async def test_long_replies_are_split_at_2000(client: httpx.AsyncClient, fake_zalo: FakeZalo) -> None:
    await post_event(client, text_event("kể chuyện dài đi"))
    # The fake's long reply is six paragraphs, about 5,600 characters.
    await eventually(lambda: sum(len(t) for t in fake_zalo.delivered_texts(USER_ID)) > 5000)
    texts = fake_zalo.delivered_texts(USER_ID)
    assert len(texts) == 3
    assert all(len(text) <= 2000 for text in texts)
    assert all(text.endswith(".") for text in texts)


async def test_transient_errors_are_retried_until_delivered(
    client: httpx.AsyncClient, app: FastAPI, fake_zalo: FakeZalo
) -> None:
    fake_zalo.http_500_next()
    fake_zalo.fail_next(-100)
    await post_event(client, text_event("Chào"))
    await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert [c.error for c in fake_zalo.sent()] == [500, -100, 0]

    # Zalo has the message before the outbox row is marked sent: wait for the record.
    def sent_row() -> OutboundMessage | None:
        with app.state.context.database.session() as session:
            return session.scalar(select(OutboundMessage).where(OutboundMessage.status == "sent"))

    row = await eventually(sent_row)
    assert row.attempts == 3


async def test_closed_reply_window_is_recorded_and_not_retried(
    client: httpx.AsyncClient, app: FastAPI, fake_zalo: FakeZalo
) -> None:
    fake_zalo.fail_next(-230)
    await post_event(client, text_event("Chào"))

    def failed_row() -> OutboundMessage | None:
        with app.state.context.database.session() as session:
            return session.scalar(select(OutboundMessage).where(OutboundMessage.status == "failed"))

    row = await eventually(failed_row)
    assert "-230" in (row.last_error or "") and row.attempts == 1
    assert len(fake_zalo.sent()) == 1


async def test_expired_token_is_refreshed_and_the_reply_delivered(
    client: httpx.AsyncClient, fake_zalo: FakeZalo
) -> None:
    fake_zalo.expire_access_token()
    await post_event(client, text_event("Chào"))
    await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert [(c.access_token, c.error) for c in fake_zalo.sent()] == [("access-0", -216), ("access-1", 0)]
    assert len(fake_zalo.refreshes()) == 1


async def test_concurrent_duplicate_deliveries_store_one_message(
    client: httpx.AsyncClient, app: FastAPI, fake_rasa: FakeRasa, fake_zalo: FakeZalo
) -> None:
    event = text_event("Chào")
    responses = await asyncio.gather(*(post_event(client, event) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True, True, True]
    await eventually(lambda: fake_zalo.delivered_texts(USER_ID))
    assert count(app, InboundMessage) == 1 and len(fake_rasa.messages) == 1
