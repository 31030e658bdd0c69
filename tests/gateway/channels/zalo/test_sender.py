"""The Zalo sender and OA token store against the fake Zalo API and a real database."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from api.channels.zalo.models import ZaloConversationState, ZaloOaToken
from api.channels.zalo.sender import ZaloSender
from api.channels.zalo.service import build_zalo
from api.channels.zalo.state import mark_unfollowed
from api.channels.zalo.tokens import ZaloTokenStore
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.db.session import Database
from api.messaging.inbound import get_or_create_conversation
from api.security.crypto import Crypto
from api.settings import Settings
from tests.gateway.fakes.zalo import FakeZalo
from tests.gateway.fakes.zalo_events import USER_ID, zalo_settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def crypto(settings: Settings) -> Crypto:
    return Crypto(settings)


@pytest.fixture
def gate(database: Database) -> WriteGate:
    return WriteGate(database)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def parts(settings: Settings, gate: WriteGate, crypto: Crypto, http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return build_zalo(settings, gate, crypto, http)


@pytest.fixture
def sender(parts) -> ZaloSender:  # type: ignore[no-untyped-def]
    return parts[2]


@pytest.fixture
def tokens(parts) -> ZaloTokenStore:  # type: ignore[no-untyped-def]
    return parts[1]


def conversation_id(database: Database, crypto: Crypto, user_id: str = USER_ID) -> int:
    with database.transaction() as session:
        return get_or_create_conversation(session, channel="zalo", platform_user_id=user_id, crypto=crypto).id


async def test_text_is_sent_with_the_access_token_header(sender: ZaloSender, fake_zalo: FakeZalo) -> None:
    result = await sender.send(USER_ID, {"text": "Xin chào"})
    assert result.ok
    [call] = fake_zalo.sent()
    assert call.access_token == "access-0"
    assert call.user_id == USER_ID
    assert call.message == {"text": "Xin chào"}


async def test_buttons_are_numbered_and_remembered(
    sender: ZaloSender, fake_zalo: FakeZalo, database: Database, crypto: Crypto
) -> None:
    conv_id = conversation_id(database, crypto)
    result = await sender.send(USER_ID, {"text": "Bạn muốn?", "buttons": [
        {"title": "Có", "payload": "/affirm"}, {"title": "Không", "payload": "/deny"}]})
    assert result.ok
    assert fake_zalo.delivered_texts() == ["Bạn muốn?\n\n1. Có\n2. Không\n(Bạn nhắn số để chọn nhé.)"]
    with database.session() as session:
        state = session.get(ZaloConversationState, conv_id)
        assert state is not None and state.choices == {"1": "/affirm", "2": "/deny"}


async def test_rate_limit_is_transient_with_a_wait(sender: ZaloSender, fake_zalo: FakeZalo) -> None:
    fake_zalo.fail_next(-32)
    result = await sender.send(USER_ID, {"text": "a"})
    assert not result.ok and not result.permanent
    assert result.retry_after == 60.0
    assert "-32" in (result.error or "")
    assert len(fake_zalo.sent()) == 1  # the sender does not spin; the outbox schedules the retry
    assert (await sender.send(USER_ID, {"text": "a"})).ok


@pytest.mark.parametrize("code", [-100])
async def test_temporary_server_error_is_transient(sender: ZaloSender, fake_zalo: FakeZalo, code: int) -> None:
    fake_zalo.fail_next(code)
    result = await sender.send(USER_ID, {"text": "a"})
    assert not result.ok and not result.permanent and result.retry_after is None


async def test_http_500_is_transient(sender: ZaloSender, fake_zalo: FakeZalo) -> None:
    fake_zalo.http_500_next()
    result = await sender.send(USER_ID, {"text": "a"})
    assert not result.ok and not result.permanent
    assert "500" in (result.error or "")


@pytest.mark.parametrize("code", [-213, -217, -227, -230, -232, -234, -244, -224])
async def test_window_and_permission_errors_are_permanent(
    sender: ZaloSender, fake_zalo: FakeZalo, code: int
) -> None:
    fake_zalo.fail_next(code)
    result = await sender.send(USER_ID, {"text": "a"})
    assert result.permanent and not result.ok
    assert str(code) in (result.error or "")
    assert len(fake_zalo.sent()) == 1
    assert fake_zalo.refreshes() == []


async def test_rejected_token_is_refreshed_once_and_the_send_retried_once(
    sender: ZaloSender, fake_zalo: FakeZalo, database: Database, crypto: Crypto
) -> None:
    fake_zalo.expire_access_token()
    result = await sender.send(USER_ID, {"text": "a"})
    assert result.ok
    assert [c.error for c in fake_zalo.sent()] == [-216, 0]
    assert [c.access_token for c in fake_zalo.sent()] == ["access-0", "access-1"]
    assert len(fake_zalo.refreshes()) == 1
    with database.session() as session:
        row = session.scalar(select(ZaloOaToken))
        assert row is not None and row.refresh_count == 1
        assert crypto.decrypt(row.refresh_token_encrypted) == "refresh-1"


async def test_token_still_rejected_after_refresh_gives_up_for_now(
    sender: ZaloSender, fake_zalo: FakeZalo
) -> None:
    fake_zalo.expire_access_token()
    fake_zalo.fail_next(-220)  # the retry with the fresh token is refused too
    result = await sender.send(USER_ID, {"text": "a"})
    assert not result.ok and not result.permanent and result.retry_after
    assert len(fake_zalo.sent()) == 2  # no third attempt
    assert len(fake_zalo.refreshes()) == 1  # and no second refresh


async def test_unfollowed_user_is_not_messaged(
    sender: ZaloSender, fake_zalo: FakeZalo, database: Database, crypto: Crypto
) -> None:
    conv_id = conversation_id(database, crypto)
    with database.transaction() as session:
        mark_unfollowed(session, conv_id)
    result = await sender.send(USER_ID, {"text": "a"})
    assert result.permanent
    assert fake_zalo.sent() == []


async def test_tokens_are_stored_encrypted_and_refreshed_ahead_of_expiry(
    tokens: ZaloTokenStore, fake_zalo: FakeZalo, database: Database, crypto: Crypto
) -> None:
    assert await tokens.access_token() == "access-0"  # seeded from settings, no refresh yet
    assert fake_zalo.refreshes() == []
    with database.transaction() as session:
        row = session.scalar(select(ZaloOaToken))
        assert row is not None
        assert "access-0" not in row.access_token_encrypted and "refresh-0" not in row.refresh_token_encrypted
        row.expires_at = utcnow() + timedelta(minutes=10)  # inside the refresh margin
    assert await tokens.access_token() == "access-1"
    [call] = fake_zalo.refreshes()
    assert call.form == {"app_id": "50554360515256678", "grant_type": "refresh_token", "refresh_token": "refresh-0"}
    assert call.secret_key == "test-zalo-app-secret"
    with database.session() as session:
        row = session.scalar(select(ZaloOaToken))
        assert row is not None
        assert crypto.decrypt(row.access_token_encrypted) == "access-1"
        assert crypto.decrypt(row.refresh_token_encrypted) == "refresh-1"
        assert row.expires_at.replace(tzinfo=None) > (utcnow() + timedelta(hours=24)).replace(tzinfo=None)
    # Fresh again: no further refresh.
    assert await tokens.access_token() == "access-1"
    assert len(fake_zalo.refreshes()) == 1


async def test_concurrent_refreshes_in_one_process_refresh_once(
    tokens: ZaloTokenStore, fake_zalo: FakeZalo
) -> None:
    await tokens.access_token()
    fake_zalo.set_refresh_delay(0.2)
    results = await asyncio.gather(*(tokens.refresh_rejected("access-0") for _ in range(5)))
    assert results == ["access-1"] * 5
    assert len(fake_zalo.refreshes()) == 1


async def test_two_replicas_racing_refresh_once(
    settings: Settings, gate: WriteGate, crypto: Crypto, http: httpx.AsyncClient, fake_zalo: FakeZalo
) -> None:
    # Two independent stores (own asyncio locks, as in two gateway replicas) share the database:
    # on PostgreSQL only the row lock keeps the single-use refresh token from being spent twice
    # (the write gate is a no-op there; on SQLite one process shares one gate).
    _, replica_a, _ = build_zalo(settings, gate, crypto, http)
    _, replica_b, _ = build_zalo(settings, gate, crypto, http)
    assert await replica_a.access_token() == "access-0"
    fake_zalo.set_refresh_delay(0.3)
    a, b = await asyncio.gather(replica_a.refresh_rejected("access-0"), replica_b.refresh_rejected("access-0"))
    assert a == b == "access-1"
    calls = fake_zalo.refreshes()
    assert len(calls) == 1 and calls[0].error == 0
    # The stored pair is the new one, and the next refresh spends it successfully.
    assert await replica_b.refresh_rejected("access-1") == "access-2"
    assert [c.error for c in fake_zalo.refreshes()] == [0, 0]


async def test_failed_refresh_keeps_the_stored_pair(
    sender: ZaloSender, tokens: ZaloTokenStore, fake_zalo: FakeZalo, database: Database, crypto: Crypto
) -> None:
    await tokens.access_token()
    fake_zalo.reset(access_token="other", refresh_token="other-refresh")  # our refresh token is now unknown
    result = await sender.send(USER_ID, {"text": "a"})
    assert not result.ok and not result.permanent  # retried later, never dropped
    assert [c.error for c in fake_zalo.refreshes()] == [-14020]
    with database.session() as session:
        row = session.scalar(select(ZaloOaToken))
        assert row is not None and crypto.decrypt(row.refresh_token_encrypted) == "refresh-0"


async def test_new_configured_pair_replaces_the_stored_chain(
    settings: Settings, gate: WriteGate, crypto: Crypto, http: httpx.AsyncClient, fake_zalo: FakeZalo
) -> None:
    _, store, _ = build_zalo(settings, gate, crypto, http)
    assert await store.access_token() == "access-0"
    fake_zalo.reset(access_token="reauthorised", refresh_token="reauthorised-refresh")
    new_settings = zalo_settings(settings, fake_zalo)
    _, store2, _ = build_zalo(new_settings, gate, crypto, http)
    assert await store2.access_token() == "reauthorised"


async def test_failed_early_refresh_still_uses_the_unexpired_token(
    tokens: ZaloTokenStore, fake_zalo: FakeZalo, database: Database
) -> None:
    await tokens.access_token()
    with database.transaction() as session:
        row = session.scalar(select(ZaloOaToken))
        assert row is not None
        row.expires_at = utcnow() + timedelta(minutes=10)  # due for refresh, still valid
    fake_zalo.reset(access_token="access-0", refresh_token="someone-elses")
    assert await tokens.access_token() == "access-0"
    assert [c.error for c in fake_zalo.refreshes()] == [-14020]
