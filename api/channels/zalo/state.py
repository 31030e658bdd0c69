"""Per-conversation Zalo state: numbered options offered, and whether the user still follows the OA."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.channels.zalo.adapter import CHOICE_HINT, parse_choice
from api.channels.zalo.models import ZaloConversationState, as_utc
from api.db.base import utcnow
from api.db.gate import WriteGate
from api.messaging.models import Conversation
from api.messaging.texts import UserTexts
from api.security.crypto import Crypto

CHANNEL = "zalo"
# Options stay answerable this long; after that "1" is just text again.
CHOICES_VALID_FOR = timedelta(hours=24)


def _state_for(session: Session, conversation_id: int, *, create: bool) -> ZaloConversationState | None:
    state = session.get(ZaloConversationState, conversation_id)
    if state is None and create:
        state = ZaloConversationState(conversation_id=conversation_id, updated_at=utcnow())
        session.add(state)
    return state


def take_choice(session: Session, conversation_id: int, text: str) -> tuple[int, str] | None:
    """The (number, payload) this reply picks from the options last offered, or None.

    Offered options answer only the next user message: any text consumes them, so a later "1"
    (an age, a count) is never mistaken for a choice."""
    state = _state_for(session, conversation_id, create=False)
    if state is None or not state.choices:
        return None
    choices = {str(k): str(v) for k, v in state.choices.items()}
    fresh = state.choices_offered_at is not None and utcnow() - as_utc(state.choices_offered_at) <= CHOICES_VALID_FOR
    state.choices = None
    state.choices_offered_at = None
    state.updated_at = utcnow()
    if not fresh:
        return None
    number = parse_choice(text, len(choices))
    if number is None or str(number) not in choices:
        return None
    return number, choices[str(number)]


def mark_followed(session: Session, conversation_id: int) -> None:
    state = _state_for(session, conversation_id, create=True)
    assert state is not None
    state.unsubscribed_at = None
    state.updated_at = utcnow()


def mark_unfollowed(session: Session, conversation_id: int) -> None:
    state = _state_for(session, conversation_id, create=True)
    assert state is not None
    state.unsubscribed_at = utcnow()
    state.choices = None
    state.choices_offered_at = None
    state.updated_at = utcnow()


class ZaloConversationMemory:
    """The sender's view of the state (api.channels.zalo.adapter.ConversationMemory), keyed by the raw Zalo user id
    the outbox hands to the sender; rows are found through the pseudonymous sender id."""

    def __init__(self, gate: WriteGate, crypto: Crypto, texts: UserTexts | None = None) -> None:
        self._gate = gate
        self._crypto = crypto
        self._texts = texts or UserTexts()

    async def choice_hint(self) -> str:
        with self._gate.database.session() as session:
            return self._texts.text(session, CHOICE_HINT, CHANNEL)

    def _conversation_id(self, session: Session, platform_user_id: str) -> int | None:
        sender_id = self._crypto.pseudonymous_id(CHANNEL, platform_user_id)
        return session.scalar(select(Conversation.id).where(Conversation.sender_id == sender_id))

    async def is_unsubscribed(self, platform_user_id: str) -> bool:
        with self._gate.database.session() as session:
            conversation_id = self._conversation_id(session, platform_user_id)
            if conversation_id is None:
                return False
            state = session.get(ZaloConversationState, conversation_id)
            return state is not None and state.unsubscribed_at is not None

    async def remember_choices(self, platform_user_id: str, choices: dict[str, str]) -> None:
        async with self._gate.transaction() as session:
            conversation_id = self._conversation_id(session, platform_user_id)
            if conversation_id is None:
                return
            state = _state_for(session, conversation_id, create=True)
            assert state is not None
            state.choices = dict(choices)
            state.choices_offered_at = utcnow()
            state.updated_at = utcnow()
