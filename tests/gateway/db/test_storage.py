"""The storage layer on SQLite and PostgreSQL: dedupe, pseudonymous ids, encryption at rest."""
from __future__ import annotations

from sqlalchemy import func, select, text

from api.db.session import Database
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.messaging.outbox import enqueue
from api.security.crypto import Crypto
from api.settings import Settings


def test_inbound_is_stored_once_pseudonymous_and_encrypted(database: Database, settings: Settings) -> None:
    crypto = Crypto(settings)
    with database.transaction() as session:
        first = accept_inbound(session, channel="telegram", platform_user_id="123456789",
                               platform_message_key="815000001", kind="text", text="Xin chào",
                               metadata={"message_id": "42"}, crypto=crypto)
        assert first is not None
    with database.transaction() as session:
        again = accept_inbound(session, channel="telegram", platform_user_id="123456789",
                               platform_message_key="815000001", kind="text", text="Xin chào",
                               metadata={"message_id": "42"}, crypto=crypto)
        assert again is None
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.sender_id == crypto.pseudonymous_id("telegram", "123456789")
        assert conversation.sender_id.startswith("telegram:") and len(conversation.sender_id) == 9 + 32
        assert crypto.decrypt(conversation.platform_user_id_encrypted) == "123456789"
        raw = session.execute(text("SELECT text_encrypted, metadata FROM inbound_messages")).one()
        assert "Xin chào" not in raw[0] and crypto.decrypt(raw[0]) == "Xin chào"
        assert "123456789" not in str(raw[1])


def test_outbox_splits_long_text_and_is_encrypted(database: Database, settings: Settings) -> None:
    crypto = Crypto(settings)
    long_text = "\n\n".join(["Một đoạn văn khá dài để kiểm tra việc chia tin nhắn. " * 30] * 5)
    with database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id="1", platform_message_key="1",
                                 kind="text", text="x", metadata={}, crypto=crypto)
        assert inbound is not None
        conversation = session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        rows = enqueue(session, conversation, [{"text": long_text, "buttons": [{"title": "Có", "payload": "/affirm"}]}],
                       "bot", idempotency_prefix="inbound:1", crypto=crypto)
    assert len(rows) >= 2
    with database.session() as session:
        stored = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        payloads = [crypto.decrypt_json(r.payload_encrypted) for r in stored]
    assert all(len(p["text"]) <= 4096 for p in payloads)
    assert "buttons" in payloads[-1] and all("buttons" not in p for p in payloads[:-1])
    assert "".join(p["text"] for p in payloads).replace("\n", "").replace(" ", "") == \
        long_text.replace("\n", "").replace(" ", "")
