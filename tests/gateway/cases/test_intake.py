"""The intake screen: a disclosure the risk lexicon rates high or imminent opens the case in the
webhook's own transaction, before Rasa has read it; the Rasa turn then merges its reading without
logging or alerting twice. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.cases.events import EventBroker
from api.cases.hooks import CaseHooks
from api.cases.intake import SCREEN_KEY, load_risk_lexicon, risk_engine, screen_inbound
from api.cases.models import Case, CaseMessage, Notification
from api.cases.service import HANDOFF_FREE, HANDOFF_OFFLINE, HANDOFF_WAITING, CaseLog
from api.db.session import Database
from api.main import create_app
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.messaging.outbox import enqueue
from api.messaging.risk import Risk
from api.messaging.texts import SERVICE_UNAVAILABLE
from api.security.crypto import Crypto
from api.settings import Settings
from tests.gateway.cases.sse import EventReader
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.fakes.zalo import FakeZalo
from tests.gateway.fakes.zalo_events import signed_request, text_event, zalo_settings
from tests.gateway.live import live_gateway
from tests.gateway.staff import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    COUNSELOR_GROUP,
    create_staff,
    login,
    staff_settings,
)
from tests.gateway.waiting import eventually

CHILD = 5550007
# The lexicon alone rates this imminent; the fake Rasa rates it imminent too ("cứu"), as danger_now.
DISCLOSURE = "cứu em với, bố em đang đánh em"
HANDOFF_TEXTS = (HANDOFF_FREE.default, HANDOFF_WAITING.default, HANDOFF_OFFLINE.default)


def _texts(fake_telegram: FakeTelegram, chat: int | str) -> list[str]:
    return [m["text"] for m in fake_telegram.sent(chat)]


def _count(database: Database, model: Any, *where: Any) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _inbound_rows(database: Database) -> list[InboundMessage]:
    with database.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def _all_done(database: Database, expected: int) -> bool:
    rows = _inbound_rows(database)
    return len(rows) == expected and all(row.status == "done" for row in rows)


def _outbound_texts(database: Database, crypto: Crypto) -> list[str]:
    with database.session() as session:
        rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        return [crypto.decrypt_json(row.payload_encrypted).get("text", "") for row in rows]


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan, called in-process (no console stream needed)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield app, http


# --------------------------------------------------------------------------- through the webhook


@pytest.mark.asyncio
@pytest.mark.parametrize("rasa_mode", ["slow", "down"])
async def test_disclosure_reaches_counselors_before_rasa_answers(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, rasa_mode: str) -> None:
    if rasa_mode == "slow":
        fake_rasa.holding = True  # busy: answers only after the console has heard of the case
    else:
        fake_rasa.down = True
    with live_gateway(staff_settings(settings)) as gateway:
        database: Database = gateway.app.state.context.database
        crypto: Crypto = gateway.app.state.context.crypto
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
            admin = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            lan = await create_staff(http, admin, "lan@example.vn", name="Chị Lan")
            async with EventReader(gateway.url, lan) as events:
                assert (await post_update(http, text_update(CHILD, DISCLOSURE))).status_code == 200

                # The console and the on-call group hear about it at once, while Rasa has said nothing.
                await eventually(lambda: events.of_type("case_opened"), what="SSE case_opened")
                opened = events.of_type("case_opened")[0]
                assert opened["escalated"] and opened["case"]["status"] == "waiting"
                assert opened["case"]["level"] in ("high", "imminent")
                case_id = opened["case"]["id"]
                await eventually(lambda: _texts(fake_telegram, COUNSELOR_GROUP), what="group alert")
                assert f"#{case_id}" in _texts(fake_telegram, COUNSELOR_GROUP)[0]
                assert not fake_rasa.messages, "Rasa must not have answered yet"
                assert not any("Mình ở đây với bạn" in t for t in _texts(fake_telegram, CHILD))

                [inbound] = _inbound_rows(database)
                assert inbound.status != "done"
                marker = inbound.message_metadata[SCREEN_KEY]
                assert marker["case_id"] == case_id and marker["escalated"] is True
                assert marker["level"] in ("high", "imminent")
                with database.session() as session:
                    case = session.get(Case, case_id)
                    assert case is not None and case.status == "waiting" and case.level_rank >= 2
                    assert session.get(Conversation, case.conversation_id).state == "waiting"
                    assert [n.kind for n in session.scalars(select(Notification))] == ["new_case"]
                    logged = list(session.scalars(select(CaseMessage).where(
                        CaseMessage.inbound_message_id == inbound.id)))
                    assert [crypto.decrypt(m.text_encrypted) for m in logged] == [DISCLOSURE]

                # Now Rasa answers: its reading is merged, nothing is logged or alerted twice.
                fake_rasa.down = fake_rasa.holding = False
                await eventually(lambda: _all_done(database, 1), timeout=20, what="the Rasa turn")
                await eventually(lambda: events.of_type("case_updated"), what="SSE case_updated")
                await eventually(lambda: any(t in HANDOFF_TEXTS for t in _texts(fake_telegram, CHILD)),
                                 what="handoff text delivered")

        assert len(events.of_type("case_opened")) == 1
        assert "screen" not in str(fake_rasa.messages[-1]["metadata"])  # Rasa gets channel + message_id only
        assert set(fake_rasa.messages[-1]["metadata"]) == {"channel", "message_id"}
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == inbound.id) == 1
        assert _count(database, Notification, Notification.kind == "new_case") == 1
        assert _count(database, Case) == 1
        with database.session() as session:
            case = session.get(Case, case_id)
            assert case is not None and (case.level, case.status) == ("imminent", "waiting")
            assert case.category == "danger_now"  # the full reading of the message that opened it
            assert "lex:danger:cứu" in case.signals
            system = [crypto.decrypt(m.text_encrypted) for m in session.scalars(
                select(CaseMessage).where(CaseMessage.case_id == case_id, CaseMessage.author == "system"))]
            assert len(system) == 1 and system[0] in HANDOFF_TEXTS

        # The honest handoff text is queued once, after the bot's safe reply.
        queued = _outbound_texts(database, crypto)
        handoffs = [i for i, t in enumerate(queued) if t in HANDOFF_TEXTS]
        replies = [i for i, t in enumerate(queued) if "Mình ở đây với bạn" in t]
        assert len(handoffs) == 1 and len(replies) == 1 and replies[0] < handoffs[0]
        if rasa_mode == "down":
            assert queued[0] == SERVICE_UNAVAILABLE.default  # the child had 111 while Rasa was down
        delivered = _texts(fake_telegram, CHILD)
        assert sum(t in HANDOFF_TEXTS for t in delivered) == 1
        assert next(i for i, t in enumerate(delivered) if "Mình ở đây với bạn" in t) < next(
            i for i, t in enumerate(delivered) if t in HANDOFF_TEXTS)


@pytest.mark.asyncio
async def test_harmless_or_concern_message_opens_no_case_at_intake(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa) -> None:
    fake_rasa.down = True
    async with _running(staff_settings(settings)) as (app, http):
        database: Database = app.state.context.database
        # Harmless; and a concern the lexicon sees (only high+ acts at intake: concern waits for Rasa).
        for text in ("em cảm ơn", "bạn cùng lớp đánh em"):
            assert (await post_update(http, text_update(CHILD, text))).status_code == 200
        rows = _inbound_rows(database)
        assert len(rows) == 2 and all(SCREEN_KEY not in (row.message_metadata or {}) for row in rows)
        assert _count(database, Case) == 0 and _count(database, Notification) == 0
        assert _count(database, CaseMessage) == 0
        with database.session() as session:
            assert session.scalar(select(Conversation.state)) == "bot"

        fake_rasa.down = False
        await eventually(lambda: _all_done(database, 2), timeout=20, what="the Rasa turns")
        assert _count(database, Case) == 0  # the fake Rasa rates both "none"


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", ["assess", "case_write"])
async def test_screen_failure_still_stores_the_message(
        settings: Settings, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, failure: str,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake_rasa.down = True
    async with _running(staff_settings(settings)) as (app, http):
        database: Database = app.state.context.database
        published: list[dict[str, Any]] = []
        broker: EventBroker = app.state.context.case_events
        original_publish = broker.publish

        def recording_publish(payload: dict[str, Any], roles: frozenset[str] | None = None) -> None:
            published.append(payload)
            original_publish(payload, roles)

        monkeypatch.setattr(broker, "publish", recording_publish)
        failures: list[str] = []
        if failure == "assess":
            def broken_assess(*args: Any, **kwargs: Any) -> Any:
                failures.append("assess")
                raise RuntimeError("lexicon exploded")

            monkeypatch.setattr(risk_engine, "assess", broken_assess)
        else:
            # Fails after the case, its message and its notification were written and its events
            # queued: the savepoint must take all of it back, and no event may go out.
            case_log = app.state.context.case_log
            original_record = case_log.record_child_message

            def record_then_fail(*args: Any, **kwargs: Any) -> Any:
                change = original_record(*args, **kwargs)
                if not failures:
                    failures.append("case_write")
                    raise RuntimeError("disk full")
                return change

            monkeypatch.setattr(case_log, "record_child_message", record_then_fail)

        response = await post_update(http, text_update(CHILD, DISCLOSURE))
        assert response.status_code == 200 and response.json() == {"ok": True}
        assert failures == [failure]
        [inbound] = _inbound_rows(database)
        assert SCREEN_KEY not in (inbound.message_metadata or {})
        assert app.state.context.crypto.decrypt(inbound.text_encrypted) == DISCLOSURE
        assert _count(database, Case) == 0 and _count(database, Notification) == 0
        assert _count(database, CaseMessage) == 0
        with database.session() as session:
            assert session.scalar(select(Conversation.state)) == "bot"
        assert published == []  # no console event for a case that was rolled back

        screen_logs = [r for r in caplog.records if r.name == "api.cases.intake" and r.levelno >= logging.INFO]
        assert screen_logs and "intake screen failed" in screen_logs[0].getMessage()
        for record in caplog.records:
            if record.levelno >= logging.INFO:
                message = record.getMessage()
                assert DISCLOSURE not in message and str(CHILD) not in message

        # The Rasa turn still opens the case.
        fake_rasa.down = False
        await eventually(lambda: _all_done(database, 1), timeout=20, what="the Rasa turn")
        with database.session() as session:
            case = session.scalar(select(Case))
            assert case is not None and (case.level, case.status) == ("imminent", "waiting")
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == inbound.id) == 1
        assert _count(database, Notification, Notification.kind == "new_case") == 1
        assert [p["type"] for p in published if p["type"].startswith("case_")].count("case_opened") == 1
        handoffs = [t for t in _outbound_texts(database, app.state.context.crypto) if t in HANDOFF_TEXTS]
        assert len(handoffs) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("channel", ["web", "zalo"])
async def test_every_channel_screens_at_intake(settings: Settings, fake_telegram: FakeTelegram,
                                               fake_rasa: FakeRasa, fake_zalo: FakeZalo, channel: str) -> None:
    fake_rasa.down = True
    base = staff_settings(settings)
    async with _running(zalo_settings(base, fake_zalo) if channel == "zalo" else base) as (app, http):
        database: Database = app.state.context.database
        if channel == "web":
            response = await http.post("/webchat/messages", json={"client_id": "intake-test-client-01",
                                                                  "text": DISCLOSURE})
            assert response.status_code == 202, response.text
        else:
            body, headers = signed_request(text_event(DISCLOSURE))
            response = await http.post("/webhooks/zalo", content=body, headers=headers)
            assert response.status_code == 200 and response.json()["duplicate"] is False
        with database.session() as session:
            case = session.scalar(select(Case))
            assert case is not None and case.channel == channel and case.status == "waiting"
            assert [n.kind for n in session.scalars(select(Notification))] == ["new_case"]
        [inbound] = _inbound_rows(database)
        assert inbound.message_metadata[SCREEN_KEY]["escalated"] is True

        fake_rasa.down = False
        await eventually(lambda: _all_done(database, 1), timeout=20, what="the Rasa turn")
        assert _count(database, CaseMessage, CaseMessage.inbound_message_id == inbound.id) == 1
        assert _count(database, Notification, Notification.kind == "new_case") == 1


# --------------------------------------------------------------------------- the case log itself


class _Harness:
    """The screen at the webhook and the case hooks of the Rasa turn, on one database."""

    def __init__(self, database: Database, crypto: Crypto, database_url: str) -> None:
        self.database = database
        self.crypto = crypto
        self.published: list[dict[str, Any]] = []
        broker = EventBroker()
        broker.publish = lambda payload, roles=None: self.published.append(payload)  # type: ignore[method-assign]
        settings = Settings(_env_file=None, database_url=database_url, office_hours="00:00-24:00")  # type: ignore[call-arg]
        self.log = CaseLog(settings, crypto, broker)
        self.hooks = CaseHooks(self.log)
        self.state = SimpleNamespace(case_log=self.log, risk_lexicon=load_risk_lexicon())
        self._keys = iter(range(1, 1000))

    def webhook(self, text: str) -> tuple[int, dict[str, Any] | None]:
        with self.database.transaction() as session:
            inbound = accept_inbound(session, channel="telegram", platform_user_id="777",
                                     platform_message_key=str(next(self._keys)), kind="text", text=text,
                                     crypto=self.crypto)
            assert inbound is not None
            marker = screen_inbound(session, inbound, text, self.state)
            return inbound.id, marker

    async def rasa_turn(self, inbound_id: int, risk: Risk, reply: str = "Mình nghe rồi") -> None:
        with self.database.transaction() as session:
            inbound = session.get(InboundMessage, inbound_id)
            assert inbound is not None
            conversation = session.get(Conversation, inbound.conversation_id)
            assert conversation is not None
            await self.hooks.after_user_message(session, conversation, inbound, risk)
            enqueue(session, conversation, [{"text": reply}], "bot", idempotency_prefix=f"inbound:{inbound.id}",
                    crypto=self.crypto)
            await self.hooks.after_bot_turn(session, conversation, inbound, [{"text": reply}], risk)

    def case(self) -> Case:
        with self.database.session() as session:
            cases = list(session.scalars(select(Case)))
            assert len(cases) == 1
            return cases[0]

    def notifications(self) -> list[str]:
        with self.database.session() as session:
            return [n.kind for n in session.scalars(select(Notification).order_by(Notification.id))]

    def child_messages(self, inbound_id: int) -> int:
        return _count(self.database, CaseMessage, CaseMessage.inbound_message_id == inbound_id)


@pytest.mark.asyncio
async def test_rasa_turn_merges_into_the_screened_case(database: Database, database_url: str,
                                                       crypto: Crypto) -> None:
    h = _Harness(database, crypto, database_url)
    inbound_id, marker = h.webhook("chú ấy hay sờ vào người em")  # the lexicon alone: high
    assert marker is not None and marker["level"] == "high" and marker["escalated"] and marker["named"]
    case = h.case()
    assert (case.level, case.status, case.category) == ("high", "waiting", "disclose_sexual_abuse")
    assert h.notifications() == ["new_case"]
    assert [p["type"] for p in h.published] == ["case_message", "case_opened"]
    with database.session() as session:
        assert session.get(Conversation, case.conversation_id).state == "waiting"

    h.published.clear()
    await h.rasa_turn(inbound_id, Risk(level="imminent", category="danger_now", signals=["lex:danger:x"],
                                       escalate=True, counselor_requested=True))
    case = h.case()
    assert (case.level, case.status, case.category) == ("imminent", "waiting", "danger_now")
    assert case.counselor_requested
    assert "lex:danger:x" in case.signals and any(s.startswith("lex:sexual_abuse") for s in case.signals)
    assert h.child_messages(inbound_id) == 1
    assert h.notifications() == ["new_case", "level_up"]  # a real rise is still announced, no second new_case
    updates = [p for p in h.published if p["type"] == "case_updated"]
    assert len(updates) == 1 and updates[0]["level_raised"] and not updates[0]["escalated"]
    assert "case_opened" not in [p["type"] for p in h.published]
    # The handoff text follows the bot's reply: escalated at intake, announced after the turn.
    texts = _outbound_texts(database, crypto)
    assert texts[0] == "Mình nghe rồi" and texts[1] in HANDOFF_TEXTS and len(texts) == 2


@pytest.mark.asyncio
async def test_rasa_turn_never_lowers_what_the_screen_set(database: Database, database_url: str,
                                                          crypto: Crypto) -> None:
    h = _Harness(database, crypto, database_url)
    first, marker = h.webhook("cứu em")  # the lexicon alone: imminent
    assert marker is not None and marker["level"] == "imminent"
    await h.rasa_turn(first, Risk(level="none"))  # the classifier disagrees: the level stays
    case = h.case()
    assert (case.level, case.status) == ("imminent", "waiting")
    assert h.child_messages(first) == 1 and h.notifications() == ["new_case"]
    assert sum(t in HANDOFF_TEXTS for t in _outbound_texts(database, crypto)) == 1

    # The same level from the Rasa turn renames the case only for the message that named it.
    second, marker = h.webhook("em đang trốn trong phòng")  # imminent too, but the case already was
    assert marker is not None and not marker["named"] and not marker["escalated"]
    await h.rasa_turn(second, Risk(level="imminent", category="disclose_neglect", escalate=True))
    case = h.case()
    assert case.category == "disclose_physical_abuse" and case.level == "imminent"
    assert h.child_messages(second) == 1 and h.notifications() == ["new_case"]
    # No second handoff: neither the screen nor the turn escalated the second message.
    assert sum(t in HANDOFF_TEXTS for t in _outbound_texts(database, crypto)) == 1

    # A message the lexicon lets through is logged by the Rasa turn as before.
    third, marker = h.webhook("em cảm ơn")
    assert marker is None and h.child_messages(third) == 0
    await h.rasa_turn(third, Risk(level="none"))
    assert h.child_messages(third) == 1


@pytest.mark.asyncio
async def test_a_hand_back_before_the_rasa_turn_is_not_undone(database: Database, database_url: str,
                                                               crypto: Crypto) -> None:
    """A counselor took the screened case and handed it back before Rasa answered: the Rasa turn's
    reading of that same message neither escalates it again nor promises a counselor again."""
    h = _Harness(database, crypto, database_url)
    inbound_id, marker = h.webhook("cứu em")
    assert marker is not None and marker["escalated"]
    with database.transaction() as session:  # what accept + hand-back leave behind
        case = session.scalar(select(Case))
        assert case is not None
        case.status = "open"
        session.get(Conversation, case.conversation_id).state = "bot"
    await h.rasa_turn(inbound_id, Risk(level="imminent", category="danger_now", escalate=True))
    case = h.case()
    assert case.status == "open" and h.notifications() == ["new_case"]
    assert h.child_messages(inbound_id) == 1
    assert not any(t in HANDOFF_TEXTS for t in _outbound_texts(database, crypto))
    with database.session() as session:
        assert session.get(Conversation, case.conversation_id).state == "bot"

    # The child's next disclosure is a new escalation as usual.
    again, marker = h.webhook("cứu em với, chú ấy lại đến")
    assert marker is not None and marker["escalated"]
    await h.rasa_turn(again, Risk(level="imminent", category="danger_now", escalate=True))
    assert h.case().status == "waiting" and h.notifications() == ["new_case", "new_case"]
    assert sum(t in HANDOFF_TEXTS for t in _outbound_texts(database, crypto)) == 1
