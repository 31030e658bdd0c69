"""The counselor group's Telegram alert carries level, category and a console link; the child's
words only when TELEGRAM_ALERT_EXCERPT is true."""
from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.cases.models import Notification
from api.labels import CATEGORIES as CATEGORY_LABELS
from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import COUNSELOR_GROUP, staff_settings
from tests.gateway.waiting import eventually

CHILD = 4711
DISCLOSURE = "cứu em với, chú hàng xóm đang sờ vào người em"
CHILD_WORDS = ("cứu", "hàng xóm", "sờ", "người em")


@pytest.fixture(params=[False, True], ids=["default", "excerpt_on"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:  # overrides the shared fixture
    overrides = {"telegram_alert_excerpt": True} if request.param else {}
    return staff_settings(settings, **overrides)


@pytest.mark.asyncio
async def test_group_alert_has_no_words_of_the_child_unless_asked(
        client: httpx.AsyncClient, app: FastAPI, fake_telegram: FakeTelegram) -> None:
    settings: Settings = app.state.context.settings
    assert settings.telegram_counselor_chat_id == COUNSELOR_GROUP
    assert (await post_update(client, text_update(CHILD, DISCLOSURE))).status_code == 200
    await eventually(lambda: fake_telegram.sent(COUNSELOR_GROUP), what="group alert")
    alert = fake_telegram.sent(COUNSELOR_GROUP)[0]["text"]
    assert "/console#case-" in alert and str(CHILD) not in alert
    assert "Mức: KHẨN CẤP" in alert or "Mức: NGHIÊM TRỌNG" in alert
    assert any(f"Chủ đề: {label}\n" in alert for label in CATEGORY_LABELS.values()), alert
    with app.state.context.database.session() as session:
        stored = [note.payload.get("excerpt_encrypted") for note in session.scalars(select(Notification))]
    if settings.telegram_alert_excerpt:
        assert "Trích:" in alert and "chú hàng xóm" in alert
        assert all(stored)
    else:
        assert all(word not in alert.lower() for word in CHILD_WORDS), alert
        assert "Trích" not in alert
        assert stored and not any(stored)  # nothing of the message kept for the alert either
