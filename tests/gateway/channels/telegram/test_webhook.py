"""POST /webhooks/telegram end to end: secret check, dedupe, bad input, kinds of updates."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from api.messaging.models import Conversation, InboundMessage
from tests.gateway.fakes.rasa import LONG_BUTTON_PAYLOAD, FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import (
    callback_update,
    edited_update,
    photo_update,
    post_update,
    sticker_update,
    text_update,
    voice_update,
)
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHAT = 123456789


def _inbound_count(client: httpx.AsyncClient) -> int:
    app = client._transport.app  # type: ignore[attr-defined]
    with app.state.context.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
async def test_missing_or_wrong_secret_is_403_and_nothing_stored(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, secret: str | None
) -> None:
    response = await post_update(client, text_update(CHAT, "Xin chào"), secret=secret)
    assert response.status_code == 403
    await drained(client._transport.app)  # type: ignore[attr-defined]
    assert _inbound_count(client) == 0
    assert fake_rasa.texts() == []


async def test_text_reaches_rasa_pseudonymously_and_reply_is_sent(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    response = await post_update(client, text_update(CHAT, "Xin chào"))
    assert response.status_code == 200
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="reply")
    assert fake_telegram.sent(CHAT)[0]["text"] == "Mình nghe rồi: Xin chào"
    message = fake_rasa.messages[0]
    assert message["sender"].startswith("telegram:") and str(CHAT) not in message["sender"]
    assert message["metadata"]["channel"] == "telegram" and str(CHAT) not in str(message["metadata"])
    await drained(client._transport.app)  # type: ignore[attr-defined]
    assert len(fake_telegram.sent(CHAT)) == 1  # the risk custom payload is never delivered
    assert fake_rasa.parses == []  # the risk came with the replies


async def test_duplicate_update_is_handled_once(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    update = text_update(CHAT, "Chào bạn")
    first = await post_update(client, update)
    second = await post_update(client, update)
    assert first.status_code == 200 and second.status_code == 200
    await eventually(lambda: len(fake_telegram.sent(CHAT)) >= 1, what="reply")
    await drained(client._transport.app)  # type: ignore[attr-defined]
    assert fake_rasa.texts() == ["Chào bạn"]
    assert len(fake_telegram.sent(CHAT)) == 1
    assert _inbound_count(client) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b'{"message": {}}', 400), (b'{"update_id": 5, "message": 7}', 400)],
)
async def test_malformed_bodies_get_400_and_nothing_stored(
    client: httpx.AsyncClient, body: bytes, status: int
) -> None:
    response = await post_update(client, body)
    assert response.status_code == status
    assert "error" in response.json()
    assert _inbound_count(client) == 0


async def test_oversized_body_gets_413(client: httpx.AsyncClient) -> None:
    huge = text_update(CHAT, "a" * (300 * 1024))
    response = await post_update(client, huge)
    assert response.status_code == 413
    assert _inbound_count(client) == 0


async def test_start_sends_welcome_with_privacy_notice_and_111(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    await post_update(client, text_update(CHAT, "/start"))
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="welcome")
    welcome = fake_telegram.sent(CHAT)[0]["text"]
    assert "111" in welcome and "riêng tư" in welcome.lower()
    assert fake_rasa.texts() == []


@pytest.mark.parametrize("make_update", [sticker_update, photo_update, voice_update])
async def test_non_text_messages_get_a_kind_reply_with_111(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram, make_update  # type: ignore[no-untyped-def]
) -> None:
    response = await post_update(client, make_update(CHAT))
    assert response.status_code == 200
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="kind reply")
    reply = fake_telegram.sent(CHAT)[0]["text"]
    assert "chữ" in reply and "111" in reply
    assert fake_rasa.texts() == []


async def test_edited_message_is_handled_as_new_text(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    await post_update(client, text_update(CHAT, "Xin chào"))
    await post_update(client, edited_update(CHAT, "Xin chào bot"))
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 2, what="two replies")
    assert fake_rasa.texts() == ["Xin chào", "Xin chào bot"]


async def test_long_text_is_split_at_4096(
    client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    await post_update(client, text_update(CHAT, "kể chuyện dài đi"))
    await eventually(lambda: len(fake_telegram.sent(CHAT)) >= 2, what="split reply")
    await drained(client._transport.app)  # type: ignore[attr-defined]
    parts = [m["text"] for m in fake_telegram.sent(CHAT)]
    assert all(len(p) <= 4096 for p in parts)
    assert sum(len(p) for p in parts) > 4096
    assert all(p.endswith(".") for p in parts)  # split on paragraph/sentence boundaries


async def test_buttons_become_inline_keyboard_and_callbacks_go_to_rasa(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, fake_telegram: FakeTelegram
) -> None:
    await post_update(client, text_update(CHAT, "cho mình xem nút"))
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 1, what="reply with buttons")
    keyboard = fake_telegram.sent(CHAT)[0]["reply_markup"]["inline_keyboard"]
    datas = [row[0]["callback_data"] for row in keyboard]
    assert [row[0]["text"] for row in keyboard] == ["Có", "An toàn trên mạng"]
    assert datas[0] == "/affirm"
    assert all(len(d.encode()) <= 64 for d in datas) and datas[1] != LONG_BUTTON_PAYLOAD

    await post_update(client, callback_update(CHAT, datas[1]))
    await eventually(lambda: len(fake_rasa.texts()) == 2, what="callback payload at Rasa")
    assert fake_rasa.texts()[1] == LONG_BUTTON_PAYLOAD
    await eventually(lambda: len(fake_telegram.calls_of("answerCallbackQuery")) == 1, what="callback answered")
    await eventually(lambda: len(fake_telegram.sent(CHAT)) == 2, what="reply to the button")


async def test_health_reports_rasa_and_database(client: httpx.AsyncClient, fake_rasa: FakeRasa) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["rasa"] == "up" and response.json()["database"] == "up"
    fake_rasa.down = True
    response = await client.get("/health")
    assert response.status_code == 200 and response.json()["rasa"] == "down"


async def test_conversation_is_created_once_per_user(
    client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    for text in ("một", "hai"):
        await post_update(client, text_update(CHAT, text))
    await post_update(client, text_update(CHAT + 1, "ba"))
    await eventually(lambda: len(fake_telegram.sent()) == 3, what="three replies")
    app = client._transport.app  # type: ignore[attr-defined]
    with app.state.context.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 2
