"""The case log and case actions against a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select

from api.auth.models import AuditLog, User
from api.auth.passwords import hash_password
from api.cases.events import EventBroker
from api.cases.handoff import CaseActionError, HandoffService
from api.cases.models import Case, CaseMessage, Notification
from api.cases.service import HANDOFF_FREE, HANDOFF_OFFLINE, HANDOFF_WAITING, CaseLog, handoff_text
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.db.session import Database
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation
from api.messaging.rasa_client import RasaClient
from api.messaging.risk import Risk
from api.security.crypto import Crypto
from api.settings import Settings


@pytest.fixture
def case_settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, office_hours="00:00-24:00")  # type: ignore[call-arg]


def _inbound(database: Database, crypto: Crypto, key: str, text: str, user: str = "777") -> tuple[int, int]:
    with database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id=user, platform_message_key=key,
                                 kind="text", text=text, crypto=crypto)
        assert inbound is not None
        return inbound.id, inbound.conversation_id


def _record(database: Database, log: CaseLog, inbound_id: int, conversation_id: int, text: str,
            risk: Risk):  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        return log.record_child_message(session, conversation, inbound_id=inbound_id, text=text, risk=risk)


def _user(database: Database, email: str, role: str = "counselor", seen: bool = False) -> User:
    with database.transaction() as session:
        user = User(email=email, display_name=email.split("@")[0], role=role, active=True,
                    password_hash=hash_password("long-enough-password"),
                    last_seen_at=utcnow() if seen else None)
        session.add(user)
    return user


def test_case_opens_joins_and_level_only_goes_up(database: Database, crypto: Crypto, case_settings: Settings) -> None:
    broker = EventBroker()
    log = CaseLog(case_settings, crypto, broker)
    first = _inbound(database, crypto, "1", "em hay bị bạn trêu")
    assert _record(database, log, *first, "em hay bị bạn trêu", Risk("none")) is None

    second = _inbound(database, crypto, "2", "bạn cùng lớp đánh em")
    change = _record(database, log, *second, "bạn cùng lớp đánh em",
                     Risk("concern", "disclose_bullying", ["lex:bullying:đánh"]))
    assert change.opened and not change.escalated

    third = _inbound(database, crypto, "3", "chú hàng xóm sờ vào người em, cứu em với")
    change = _record(database, log, *third, "chú hàng xóm sờ vào người em, cứu em với",
                     Risk("imminent", "disclose_sexual_abuse", ["lex:sexual_abuse:sờ"], escalate=True))
    assert not change.opened and change.escalated and change.level_raised

    fourth = _inbound(database, crypto, "4", "em sợ lắm")
    _record(database, log, *fourth, "em sợ lắm", Risk("concern", "disclose_bullying", ["x"]))

    with database.session() as session:
        cases = list(session.scalars(select(Case)))
        assert len(cases) == 1
        case = cases[0]
        assert (case.level, case.category, case.status) == ("imminent", "disclose_sexual_abuse", "waiting")
        assert case.sender_id.startswith("telegram:") and "777" not in case.sender_id
        assert "lex:bullying:đánh" in case.signals and "lex:sexual_abuse:sờ" in case.signals
        assert session.get(Conversation, case.conversation_id).state == "waiting"
        messages = list(session.scalars(select(CaseMessage).order_by(CaseMessage.id)))
        # Only messages from the first concern on; stored encrypted, readable with the key.
        assert [crypto.decrypt(m.text_encrypted) for m in messages] == [
            "bạn cùng lớp đánh em", "chú hàng xóm sờ vào người em, cứu em với", "em sợ lắm"]
        assert all(" " not in m.text_encrypted for m in messages)  # ciphertext, never the words
        notes = list(session.scalars(select(Notification)))
        assert [n.kind for n in notes] == ["new_case"]
        assert notes[0].payload["excerpt_encrypted"] is None  # TELEGRAM_ALERT_EXCERPT is off by default


def test_rollback_publishes_nothing_and_stores_nothing(database: Database, crypto: Crypto,
                                                        case_settings: Settings) -> None:
    broker = EventBroker()
    published: list[dict] = []
    broker.publish = lambda payload, roles=None: published.append(payload)  # type: ignore[method-assign]
    log = CaseLog(case_settings, crypto, broker)
    inbound_id, conversation_id = _inbound(database, crypto, "9", "cứu em")
    with pytest.raises(RuntimeError), database.transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        log.record_child_message(session, conversation, inbound_id=inbound_id, text="cứu em",
                                 risk=Risk("imminent", "danger_now", [], escalate=True))
        raise RuntimeError("crash before commit")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
    assert published == []
    _record(database, log, inbound_id, conversation_id, "cứu em",
            Risk("imminent", "danger_now", [], escalate=True))
    assert [p["type"] for p in published] == ["case_message", "case_opened"]


def test_handoff_text_is_honest_about_presence_and_hours(database: Database, case_settings: Settings) -> None:
    with database.session() as session:
        assert handoff_text(session, case_settings, utcnow()) is HANDOFF_OFFLINE
    _user(database, "online@example.vn", seen=True)
    with database.session() as session:
        assert handoff_text(session, case_settings, utcnow()) in (HANDOFF_FREE, HANDOFF_WAITING)
        closed = case_settings.model_copy(update={"office_hours": "00:00-00:01"})
        assert handoff_text(session, closed, utcnow().replace(hour=12)) is HANDOFF_OFFLINE
    assert "111" in HANDOFF_OFFLINE.default and "111" in HANDOFF_WAITING.default


def test_two_counselors_accepting_at_once_exactly_one_wins(database: Database, crypto: Crypto,
                                                           case_settings: Settings) -> None:
    log = CaseLog(case_settings, crypto, EventBroker())
    inbound_id, conversation_id = _inbound(database, crypto, "1", "cứu em")
    _record(database, log, inbound_id, conversation_id, "cứu em",
            Risk("imminent", "danger_now", [], escalate=True))
    with database.session() as session:
        case_id = session.scalar(select(Case.id))
    users = [_user(database, "a@example.vn"), _user(database, "b@example.vn")]
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def accept(index: int) -> None:
        # Each thread is its own "gateway process": own engine, gate and loop.
        own_db = Database(database.url)
        service = HandoffService(WriteGate(own_db), RasaClient("http://127.0.0.1:9", timeout=0.2), log, EventBroker())
        barrier.wait()
        try:
            results[index] = asyncio.run(service.accept(case_id, users[index]))
        except CaseActionError as exc:
            results[index] = exc
        finally:
            own_db.dispose()

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, CaseActionError)]
    assert len(winners) == 1 and len(losers) == 1 and losers[0].status_code == 409
    with database.session() as session:
        case = session.get(Case, case_id)
        assert case.status == "active" and case.assigned_user_id == winners[0].assigned_user_id
        assert session.get(Conversation, conversation_id).state == "counselor"
        actions = sorted(session.scalars(select(AuditLog.action)))
        assert actions == ["case.accept", "case.accept_refused"]


def test_concern_escalates_when_the_child_accepts_a_counselor(database: Database, crypto: Crypto,
                                                             case_settings: Settings) -> None:
    log = CaseLog(case_settings, crypto, EventBroker())
    first = _inbound(database, crypto, "1", "em bị bạn bắt nạt")
    change = _record(database, log, *first, "em bị bạn bắt nạt", Risk("concern", "disclose_bullying", []))
    assert change.opened and not change.escalated and change.case.status == "open"
    second = _inbound(database, crypto, "2", "có, em muốn nói chuyện với người thật")
    change = _record(database, log, *second, "có, em muốn nói chuyện với người thật",
                     Risk("none", None, [], escalate=True, counselor_requested=True))
    assert change.escalated and not change.opened
    with database.session() as session:
        case = session.scalar(select(Case))
        assert (case.status, case.level, case.counselor_requested) == ("waiting", "concern", True)
        assert [n.kind for n in session.scalars(select(Notification))] == ["new_case"]


def _accepted_case(database: Database, crypto: Crypto, log: CaseLog, user: User, channel_user: str = "777"):  # type: ignore[no-untyped-def]
    inbound_id, conversation_id = _inbound(database, crypto, f"k{channel_user}", "cứu em", user=channel_user)
    _record(database, log, inbound_id, conversation_id, "cứu em",
            Risk("imminent", "danger_now", [], escalate=True))
    with database.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.conversation_id == conversation_id))
    return case_id, conversation_id


def test_hand_back_with_rasa_down_sends_the_fallback_check_in(database: Database, crypto: Crypto,
                                                              case_settings: Settings) -> None:
    from api.cases.handoff import CHECKIN, RESUME_RETRIES
    from api.messaging.models import OutboundMessage

    log = CaseLog(case_settings, crypto, EventBroker())
    counselor = _user(database, "c@example.vn")
    case_id, conversation_id = _accepted_case(database, crypto, log, counselor)
    service = HandoffService(WriteGate(database), RasaClient("http://127.0.0.1:9", timeout=0.2), log, EventBroker())

    async def scenario() -> None:
        await service.accept(case_id, counselor)
        await service.hand_back(case_id, counselor, "Trẻ đã bình tĩnh")
        assert len(service._background) == 1 and RESUME_RETRIES > 0  # resume keeps being retried
        for task in list(service._background):
            task.cancel()

    asyncio.run(scenario())
    with database.session() as session:
        assert session.get(Conversation, conversation_id).state == "bot"
        assert session.get(Case, case_id).status == "open"
        texts = [crypto.decrypt_json(o.payload_encrypted)["text"] for o in session.scalars(
            select(OutboundMessage).where(OutboundMessage.conversation_id == conversation_id))]
        # A check-in may show on a lock screen: neither the hotline nor the topic (docs/content.md).
        assert texts[-1] == CHECKIN.default and "111" not in CHECKIN.default


def test_zalo_reply_window_is_enforced(database: Database, crypto: Crypto, case_settings: Settings) -> None:
    from datetime import timedelta

    log = CaseLog(case_settings, crypto, EventBroker())
    counselor = _user(database, "z@example.vn")
    with database.transaction() as session:
        inbound = accept_inbound(session, channel="zalo", platform_user_id="5510185758261927916",
                                 platform_message_key="zmsg1", kind="text", text="cứu em", crypto=crypto)
        conversation_id = inbound.conversation_id
    with database.transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        log.record_child_message(session, conversation, inbound_id=inbound.id, text="cứu em",
                                 risk=Risk("imminent", "danger_now", [], escalate=True))
    with database.session() as session:
        case_id = session.scalar(select(Case.id))
    service = HandoffService(WriteGate(database), RasaClient("http://127.0.0.1:9", timeout=0.2), log, EventBroker())
    asyncio.run(service.accept(case_id, counselor))
    asyncio.run(service.reply(case_id, counselor, "Chị đây"))  # within the window
    with database.transaction() as session:
        session.get(Conversation, conversation_id).last_user_message_at = utcnow() - timedelta(days=8)
    with pytest.raises(CaseActionError) as refused:
        asyncio.run(service.reply(case_id, counselor, "Em còn đó không?"))
    assert refused.value.status_code == 409


def test_two_gateway_processes_send_each_alert_once(database: Database, crypto: Crypto, case_settings: Settings,
                                                    fake_telegram) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from api.cases.notify import CaseNotifier
    from tests.gateway.fakes.telegram import TELEGRAM_TOKEN

    settings = case_settings.model_copy(update={
        "telegram_bot_token": Settings(telegram_bot_token=TELEGRAM_TOKEN).telegram_bot_token,  # type: ignore[call-arg]
        "telegram_api_base_url": fake_telegram.url, "telegram_counselor_chat_id": "-100555"})
    log = CaseLog(settings, crypto, EventBroker())
    for user in ("1", "2", "3"):
        _accepted_case(database, crypto, log, None, channel_user=user)  # opens three waiting cases
    with database.transaction() as session:  # nobody accepted them for three minutes
        for case in session.scalars(select(Case)):
            case.waiting_since = utcnow() - timedelta(minutes=3)

    barrier = threading.Barrier(2)

    def process() -> None:
        async def run() -> None:
            db = Database(database.url)
            notifier = CaseNotifier(WriteGate(db), settings, crypto, EventBroker())
            try:
                barrier.wait()
                await notifier.check_overdue()
                barrier.wait()
                await notifier.send_due()
            finally:
                await notifier.http.aclose()
                db.dispose()

        asyncio.run(run())

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    texts = [m["text"] for m in fake_telegram.sent("-100555")]
    # Per case: the new-case alert, one reminder and one supervisor alert, each exactly once.
    assert len(texts) == 9 and len(set(texts)) == 9
    assert sum("Ca mới" in t for t in texts) == 3 and sum("Chưa ai nhận" in t for t in texts) == 3
    assert all("Đã chờ: 3 phút" in t for t in texts if "Chưa ai nhận" in t)
    with database.session() as session:
        assert {n.status for n in session.scalars(select(Notification))} == {"sent"}
        assert all(c.reminders_sent == 1 for c in session.scalars(select(Case)))
