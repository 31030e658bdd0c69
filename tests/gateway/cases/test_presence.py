"""A person joining is visible on Telegram (through the fake Telegram server): the honest handoff text
(free, then all busy), the joined message and the counselor's name before their words, and the closing
message with 111. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.cases.presence import CASE_CLOSED, COUNSELOR_JOINED, authored
from api.cases.service import HANDOFF_FREE, HANDOFF_WAITING
from api.content.responses import load_domain_responses
from api.db.session import Database
from api.messaging.texts import UserTexts
from api.settings import Settings
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.live import live_gateway
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD, create_staff, login, staff_settings
from tests.gateway.waiting import eventually

CHILD = 5550101
OTHER_CHILD = 5550102


def _texts(fake_telegram: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


async def _case_of(http: httpx.AsyncClient, headers: dict[str, str], known: set[int]) -> int:
    async def new_case() -> int | None:
        cases = (await http.get("/api/v1/cases", headers=headers)).json()
        return next((c["id"] for c in cases if c["id"] not in known and c["status"] == "waiting"), None)
    return int(await eventually(new_case, what="the waiting case"))


@pytest.mark.asyncio
async def test_joined_named_and_closed_on_telegram(settings: Settings, fake_telegram: FakeTelegram,
                                                   fake_rasa: FakeRasa) -> None:
    with live_gateway(staff_settings(settings, counselor_max_active_cases=1)) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            lan = await create_staff(http, admin, "lan@example.vn", name="Lan")

            # Lan is online with no case: the child hears "ngay".
            await post_update(http, text_update(CHILD, "cứu em với"))
            await eventually(lambda: HANDOFF_FREE.default in _texts(fake_telegram, CHILD), what="free handoff")
            case_id = await _case_of(http, lan, set())

            assert (await http.post(f"/api/v1/cases/{case_id}/accept", headers=lan)).status_code == 200
            joined = f"Tư vấn viên Lan: {COUNSELOR_JOINED.default}"
            await eventually(lambda: joined in _texts(fake_telegram, CHILD), what="joined message with the name")
            reply = await http.post(f"/api/v1/cases/{case_id}/messages", headers=lan,
                                    json={"text": "Chị ở đây rồi. Em đang ở đâu?"})
            assert reply.status_code == 202
            await eventually(lambda: "Tư vấn viên Lan: Chị ở đây rồi. Em đang ở đâu?" in _texts(fake_telegram, CHILD),
                             what="counselor reply with the name prefix")

            # Lan holds one case, the most she may: the next child hears the honest wait, not "ngay".
            await post_update(http, text_update(OTHER_CHILD, "cứu em"))
            await eventually(lambda: len(_texts(fake_telegram, OTHER_CHILD)) >= 2, what="second child's handoff")
            assert _texts(fake_telegram, OTHER_CHILD)[1] == HANDOFF_WAITING.default

            closed = await http.post(f"/api/v1/cases/{case_id}/close", headers=lan,
                                     json={"outcome": "referred_111", "note": "Đã chuyển 111"})
            assert closed.status_code == 200
            await eventually(lambda: CASE_CLOSED.default in _texts(fake_telegram, CHILD), what="closing message")
            texts = _texts(fake_telegram, CHILD)
            assert texts.index(joined) < texts.index(CASE_CLOSED.default)
            detail = (await http.get(f"/api/v1/cases/{case_id}", headers=lan)).json()
            system = [m["text"] for m in detail["messages"] if m["author"] == "system"]
            assert joined in system and CASE_CLOSED.default in system  # the counselor sees what the child was told


def test_joined_and_closed_texts_follow_the_content_rules() -> None:
    assert "111" in CASE_CLOSED.default and "111" in COUNSELOR_JOINED.default
    # Both may arrive while the child is away: no hotline in what a lock screen shows.
    assert CASE_CLOSED.default.index("111") >= 100 and COUNSELOR_JOINED.default.index("111") >= 100


def test_joined_default_is_domain_yml_first_variation() -> None:
    domain = load_domain_responses(Path(Settings.model_fields["repo_root"].default) / "domain.yml")
    assert domain[COUNSELOR_JOINED.name][0]["text"] == COUNSELOR_JOINED.default
    assert CASE_CLOSED.name not in domain  # said by the gateway alone: seeded from the code


def test_the_name_goes_before_the_words_only_where_the_page_cannot_show_it(database: Database) -> None:
    texts = UserTexts()
    with database.session() as session:
        for channel in ("telegram", "zalo"):
            said = authored(session, texts, channel, {"text": "Chị đây."}, "counselor", "Lan")
            assert said == {"text": "Tư vấn viên Lan: Chị đây.", "author": {"kind": "counselor", "name": "Lan"}}
        assert authored(session, texts, "web", {"text": "Chị đây."}, "counselor", "Lan") == {
            "text": "Chị đây.", "author": {"kind": "counselor", "name": "Lan"}}
        assert authored(session, texts, "zalo", {"text": "Xin chào"}, "system") == {
            "text": "Xin chào", "author": {"kind": "system"}}  # no name: nothing before the words
