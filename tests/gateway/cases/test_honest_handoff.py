"""Honest handoff: "ngay" only while a counselor is free (online, on duty, under capacity), and no
"do you want a counselor?" once the counselors are told. Real database (SQLite and PostgreSQL)."""
from __future__ import annotations

from typing import Any

import pytest

from api.auth.models import User
from api.auth.passwords import hash_password
from api.cases.hooks import CaseHooks
from api.cases.models import Case, CaseStatus
from api.cases.service import HANDOFF_FREE, HANDOFF_OFFLINE, HANDOFF_WAITING, CaseLog, handoff_text
from api.db.base import utcnow
from api.db.session import Database
from api.messaging.inbound import accept_inbound
from api.messaging.models import Conversation, InboundMessage
from api.security.crypto import Crypto
from api.settings import Settings

OFFER = {"text": "Bạn có muốn nói chuyện với một tư vấn viên không? Cần người nghe ngay, bạn gọi 111 nhé.",
         "buttons": [{"title": "Có", "payload": "/affirm"}, {"title": "Để sau", "payload": "/deny"}]}
DISCLOSURE_REPLY = {"text": "Cảm ơn bạn đã tin tưởng kể cho mình. Gọi 111 (miễn phí, cả ngày lẫn đêm)."}


@pytest.fixture
def case_settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, office_hours="00:00-24:00",  # type: ignore[call-arg]
                    counselor_max_active_cases=1)


def _counselor(database: Database, email: str, *, online: bool) -> int:
    with database.transaction() as session:
        user = User(email=email, display_name=email.split("@")[0], role="counselor", active=True,
                    password_hash=hash_password("long-enough-password"), last_seen_at=utcnow() if online else None)
        session.add(user)
        session.flush()
        return user.id


def _inbound(database: Database, crypto: Crypto, child: str) -> tuple[int, int]:
    with database.transaction() as session:
        inbound = accept_inbound(session, channel="telegram", platform_user_id=child, platform_message_key=child,
                                 kind="text", text="em sợ lắm", crypto=crypto)
        assert inbound is not None
        return inbound.id, inbound.conversation_id


def _case(database: Database, conversation_id: int, status: str, holder: int | None = None) -> int:
    now = utcnow()
    with database.transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        case = Case(conversation_id=conversation_id, sender_id=conversation.sender_id, channel="telegram",
                    status=status, level="high", level_rank=2, signals=[], opened_at=now, updated_at=now,
                    assigned_user_id=holder, waiting_since=now)
        session.add(case)
        session.flush()
        return case.id


def _text(database: Database, settings: Settings) -> Any:
    with database.session() as session:
        return handoff_text(session, settings, utcnow())


def test_right_away_only_while_a_counselor_is_free(database: Database, crypto: Crypto,
                                                   case_settings: Settings) -> None:
    assert _text(database, case_settings) is HANDOFF_OFFLINE  # nobody online
    lan = _counselor(database, "lan@example.vn", online=True)
    _counselor(database, "away@example.vn", online=False)
    assert _text(database, case_settings) is HANDOFF_FREE
    # Lan takes a case: at capacity (1), she is online but busy, and nobody else is online.
    _, conversation_id = _inbound(database, crypto, "child-a")
    _case(database, conversation_id, CaseStatus.ACTIVE, holder=lan)
    assert _text(database, case_settings) is HANDOFF_WAITING
    # A waiting or closed case holds nobody; room for a second case makes Lan free again.
    _, other_id = _inbound(database, crypto, "child-b")
    _case(database, other_id, CaseStatus.WAITING)
    assert _text(database, case_settings) is HANDOFF_WAITING
    assert _text(database, case_settings.model_copy(update={"counselor_max_active_cases": 2})) is HANDOFF_FREE
    # Another counselor comes online with no case: free.
    _counselor(database, "minh@example.vn", online=True)
    assert _text(database, case_settings) is HANDOFF_FREE
    # Out of hours nobody is promised, free or not.
    closed = case_settings.model_copy(update={"office_hours": "00:00-00:01"})
    with database.session() as session:
        assert handoff_text(session, closed, utcnow().replace(hour=12)) is HANDOFF_OFFLINE


def test_only_the_free_text_promises_right_away_and_every_one_names_111() -> None:
    assert "với bạn ngay" in HANDOFF_FREE.default
    for text in (HANDOFF_WAITING, HANDOFF_OFFLINE):
        assert "với bạn ngay" not in text.default and "sớm nhất có thể" in text.default
    assert all("111" in text.default for text in (HANDOFF_FREE, HANDOFF_WAITING, HANDOFF_OFFLINE))


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "offer_kept"), [
    (None, True),  # no case: the bot may offer
    (CaseStatus.OPEN, True),  # a concern case nobody was told about yet
    (CaseStatus.WAITING, False),  # the counselors were told (this turn, at the webhook, or before)
    (CaseStatus.ACTIVE, False),  # a counselor has it
])
async def test_no_counselor_offer_once_the_counselors_are_told(database: Database, crypto: Crypto,
                                                               case_settings: Settings, status: str | None,
                                                               offer_kept: bool) -> None:
    inbound_id, conversation_id = _inbound(database, crypto, "child-c")
    if status is not None:
        _case(database, conversation_id, status)
    hooks = CaseHooks(CaseLog(case_settings, crypto, None))
    with database.session() as session:
        conversation = session.get(Conversation, conversation_id)
        inbound = session.get(InboundMessage, inbound_id)
        assert conversation is not None and inbound is not None
        shown = hooks.shown_replies(session, conversation, inbound, [DISCLOSURE_REPLY, OFFER])
    assert shown == ([DISCLOSURE_REPLY, OFFER] if offer_kept else [DISCLOSURE_REPLY])
