"""The gateway's own texts (welcome, non-text answer, Rasa-down fallback, handoff notices, check-in) are
responses of the content system: staff edit them in the content console, the child receives the live
version, and the shipped default goes out when the store fails or a live text has lost 111."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.cases.handoff import CHECKIN
from api.cases.models import Case, CaseMessage
from api.cases.service import HANDOFF_OFFLINE, HANDOFF_WAITING
from api.content.responses import load_domain_responses
from api.db.session import Database
from api.messaging.texts import NON_TEXT, SERVICE_UNAVAILABLE, WELCOME, UserText, UserTexts, catalog
from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, sticker_update, text_update
from tests.gateway.staff import staff_settings, staff_token
from tests.gateway.waiting import eventually

CHILD = 5550042
GATEWAY_TEXTS = [WELCOME, NON_TEXT, SERVICE_UNAVAILABLE, HANDOFF_WAITING, HANDOFF_OFFLINE, CHECKIN]
EDITED_OFFLINE = ("Hiện chưa có tư vấn viên trực, bạn có thể phải chờ một chút. "
                  "Cần người nghe ngay, gọi 111 (miễn phí, cả ngày lẫn đêm). Gặp nguy hiểm, gọi 113.")


@pytest.fixture
def settings(settings: Settings) -> Settings:  # the real domain.yml, a bootstrap admin, open hours
    real_domain = Path(settings.repo_root) / "domain.yml"
    return staff_settings(settings, domain_path=str(real_domain))


def _texts(fake_telegram: FakeTelegram) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(CHILD)]


@pytest.mark.parametrize("text", GATEWAY_TEXTS, ids=lambda t: t.name)
def test_each_default_is_the_first_variation_in_domain_yml(text: UserText) -> None:
    domain = load_domain_responses(Path(Settings.model_fields["repo_root"].default) / "domain.yml")
    assert domain[text.name][0]["text"] == text.default
    if text is not CHECKIN:  # a check-in shows on a lock screen: no hotline there
        assert "111" in text.default


@pytest.mark.asyncio
async def test_every_gateway_text_is_seeded_and_a_domain_one_keeps_its_domain_wording(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    """Texts only the gateway says (quiz lines, the help list, the Zalo hint) are responses too."""
    from api.content.models import ContentResponse
    from api.content.responses import live_version

    domain = load_domain_responses(Path(Settings.model_fields["repo_root"].default) / "domain.yml")
    names = {text.name for text in catalog()}
    assert {"utter_quiz_intro", "utter_help_list_outro", "utter_zalo_choice_hint", "utter_subscribed"} <= names
    with app.state.context.database.session() as session:
        for text in catalog():
            response = session.scalar(select(ContentResponse).where(ContentResponse.name == text.name))
            assert response is not None, text.name
            live = live_version(session, response.id)
            assert live is not None
            assert live.variations[0]["text"] == (domain[text.name][0]["text"] if text.name in domain
                                                  else text.default)


def test_placeholders_are_filled_in_the_default_and_the_live_text(database: Database) -> None:
    texts = UserTexts()
    quiz_intro = next(text for text in catalog() if text.name == "utter_quiz_intro")
    with database.session() as session:
        rendered = texts.text(session, quiz_intro, "telegram", {"title": "An toàn cơ thể", "count": 3})
        assert rendered.startswith("🎯 Đố vui: An toàn cơ thể. Có 3 câu")
        texts.install(lambda session, name, channel: {"text": "Chơi “{title}” nào: {count} câu, {unknown}!"})
        assert (texts.text(session, quiz_intro, "telegram", {"title": "Mạng xã hội", "count": 5})
                == "Chơi “Mạng xã hội” nào: 5 câu, {unknown}!")


@pytest.mark.asyncio
async def test_an_edited_quiz_line_reaches_the_child_with_its_values(client: httpx.AsyncClient, app: FastAPI,
                                                                      fake_telegram: FakeTelegram) -> None:
    staff = staff_token(app, "lan@example.org")
    quiz = await client.post("/api/v1/quizzes", headers=staff, json={"title": "Mạng an toàn", "questions": [
        {"text": "Người lạ xin ảnh riêng tư thì sao?", "options": ["Gửi", "Không gửi, kể người lớn"],
         "correct": 1, "explanation": "Không gửi, và kể với người lớn tin cậy."}]})
    assert quiz.status_code == 201
    saved = await client.post("/api/v1/responses/utter_quiz_intro/versions", headers=staff,
                              json={"variations": [{"text": "Đố vui “{title}” gồm {count} câu. Bắt đầu nhé!"}]})
    assert saved.status_code == 201
    if saved.json()["status"] == "pending":
        await client.post(f"/api/v1/responses/utter_quiz_intro/versions/{saved.json()['version']}/approve",
                          headers=staff_token(app, "hoa@example.org"))
    await post_update(client, text_update(CHILD, "đố vui"))
    await eventually(lambda: len(_texts(fake_telegram)) >= 2, what="the quiz intro and first question")
    assert _texts(fake_telegram)[:2] == ["Đố vui “Mạng an toàn” gồm 1 câu. Bắt đầu nhé!",
                                         "❓ Câu 1/1: Người lạ xin ảnh riêng tư thì sao?"]


@pytest.mark.asyncio
async def test_an_edited_handoff_notice_is_what_the_child_receives(client: httpx.AsyncClient, app: FastAPI,
                                                                   fake_telegram: FakeTelegram) -> None:
    author, reviewer = staff_token(app, "lan@example.org"), staff_token(app, "hoa@example.org")
    saved = await client.post("/api/v1/responses/utter_handoff_offline/versions", headers=author,
                              json={"variations": [{"text": EDITED_OFFLINE}]})
    assert saved.status_code == 201 and saved.json()["status"] == "pending"  # it names 111: a second person
    version = saved.json()["version"]
    approved = await client.post(f"/api/v1/responses/utter_handoff_offline/versions/{version}/approve",
                                 headers=reviewer)
    assert approved.status_code == 200 and approved.json()["status"] == "live"

    await post_update(client, text_update(CHILD, "cứu em"))  # nobody on duty is online
    await eventually(lambda: len(_texts(fake_telegram)) >= 2, what="reply + handoff notice")
    assert _texts(fake_telegram)[1] == EDITED_OFFLINE
    with app.state.context.database.session() as session:
        case_id = session.scalar(select(Case.id))
        logged = session.scalars(select(CaseMessage).where(CaseMessage.case_id == case_id,
                                                           CaseMessage.author == "system")).all()
        assert [app.state.context.crypto.decrypt(m.text_encrypted) for m in logged] == [EDITED_OFFLINE]


@pytest.mark.asyncio
async def test_the_live_welcome_is_sent_on_start(client: httpx.AsyncClient, app: FastAPI,
                                                 fake_telegram: FakeTelegram) -> None:
    edited = "Chào bạn! Mình là trợ lý của chương trình. Cần giúp ngay, gọi 111 (miễn phí, cả ngày lẫn đêm)."
    staff = staff_token(app, "lan@example.org")
    saved = await client.post("/api/v1/responses/utter_welcome/versions", headers=staff,
                              json={"variations": [{"text": edited}]})
    await client.post(f"/api/v1/responses/utter_welcome/versions/{saved.json()['version']}/approve",
                      headers=staff_token(app, "hoa@example.org"))
    await post_update(client, text_update(CHILD, "/start"))
    await eventually(lambda: _texts(fake_telegram), what="the welcome")
    assert _texts(fake_telegram) == [edited]


@pytest.mark.asyncio
async def test_a_content_store_failure_sends_the_default(client: httpx.AsyncClient, app: FastAPI,
                                                         fake_telegram: FakeTelegram) -> None:
    def broken_store(session: object, name: str, channel: str | None) -> None:
        raise RuntimeError("content store unavailable")

    app.state.context.user_texts.install(broken_store)
    await post_update(client, sticker_update(CHILD))
    await eventually(lambda: _texts(fake_telegram), what="the answer to a sticker")
    assert _texts(fake_telegram) == [NON_TEXT.default]


def test_a_live_text_that_lost_111_is_never_sent(database: Database) -> None:
    texts = UserTexts()
    texts.install(lambda session, name, channel: {"text": "Bạn nhắn bằng chữ cho mình nhé.", "buttons": []})
    with database.session() as session:
        assert texts.render(session, NON_TEXT, "telegram") == {"text": NON_TEXT.default}
        # A text without 111 by default (the check-in) follows the store as it is.
        assert texts.render(session, CHECKIN, "telegram") == {"text": "Bạn nhắn bằng chữ cho mình nhé."}
