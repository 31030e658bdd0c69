"""Consent and legal basis: the welcome records the notice per purpose; subscribing records the
opt-in and tells a child what it means; stopping withdraws it; admins query the record."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.content.subscriptions import SUBSCRIBED, UNSUBSCRIBED
from api.db.session import Database
from api.messaging.texts import WELCOME
from api.privacy.consent import shows_welcome
from api.privacy.texts import BROADCAST_CONSENT_CHILD
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login
from tests.gateway.waiting import eventually

CHILD = 7780001


def _texts(fake_telegram: FakeTelegram) -> list[str]:
    return [message["text"] for message in fake_telegram.sent(CHILD)]


async def _consents(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await http.post("/api/v1/privacy/consents", headers=admin,
                               json={"channel": "telegram", "user_id": str(CHILD)})
    assert response.status_code == 200, response.text
    return {item["purpose"]: item for item in response.json()["consents"]}


@pytest.mark.asyncio
async def test_notice_opt_in_and_withdrawal(client: httpx.AsyncClient, fake_telegram: FakeTelegram) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert (await _consents(client, admin)) == {}

    assert (await post_update(client, text_update(CHILD, "/start"))).status_code == 200
    await eventually(lambda: _texts(fake_telegram), what="the welcome")
    shown = await _consents(client, admin)
    assert set(shown) == {"answering_questions", "child_protection", "broadcasts"}

    assert (await post_update(client, text_update(CHILD, "đăng ký"))).status_code == 200
    # The confirmation and, in the same message, what subscribing means for a child.
    both = f"{SUBSCRIBED.default}\n\n{BROADCAST_CONSENT_CHILD.default}"
    await eventually(lambda: both in _texts(fake_telegram), what="the explanation")
    granted = (await _consents(client, admin))["broadcasts"]
    assert granted["legal_basis"] == "opt_in_consent" and granted["granted_at"] and not granted["withdrawn_at"]

    assert (await post_update(client, text_update(CHILD, "dừng"))).status_code == 200
    await eventually(lambda: UNSUBSCRIBED.default in _texts(fake_telegram), what="the unsubscription")
    withdrawn = (await _consents(client, admin))["broadcasts"]
    assert withdrawn["withdrawn_at"] and withdrawn["granted_at"] == granted["granted_at"]
    assert sum(BROADCAST_CONSENT_CHILD.default in text for text in _texts(fake_telegram)) == 1

    summary = {row["purpose"]: row for row in (await client.get("/api/v1/privacy/consents/summary",
                                                                headers=admin)).json()}
    assert summary["broadcasts"] == {"purpose": "broadcasts", "legal_basis": "opt_in_consent", "notice_shown": 1,
                                     "granted": 1, "withdrawn": 1}
    counselor = await create_staff(client, admin, "tuvan3@example.vn")
    assert (await client.get("/api/v1/privacy/consents/summary", headers=counselor)).status_code == 403
    retention = (await client.get("/api/v1/privacy/retention", headers=admin)).json()
    assert {row["rule"]: row["days"] for row in retention}["conversations"] == 90


def test_a_welcome_rasa_says_counts_too(database: Database) -> None:
    """Rasa may greet with utter_welcome itself: its words are recognised as the notice."""
    with database.session() as session:
        assert shows_welcome(session, [{"text": WELCOME.default + "\n"}, {"text": "Bạn muốn hỏi gì?"}])
        assert not shows_welcome(session, [{"text": "Mình nghe rồi: chào"}])
        assert not shows_welcome(session, [])
