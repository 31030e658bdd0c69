"""The intake screen: a disclosure reaches the counselors before Rasa has read it.

When a webhook stores a child's text, the risk lexicon (pure Python, about 0.2 ms a message) reads
it at once. If the lexicon alone says `high` or `imminent`, the case is opened or escalated in the
transaction that stores the message, so the console's `case_opened` event and the Telegram-group
notification go out at that commit, even while Rasa is busy or down. Anything lower waits for the
Rasa turn, which still assesses every message with the classifier and the lexicon and can only
raise the level.

When the message's turn then finds Rasa unreachable and the screen has not acted on it (it failed at
the webhook), the turn runs the screen again (`CaseHooks.rasa_unavailable`) before the child gets the
hotline fallback, so the case still opens while Rasa is down.

The inbound row keeps what the screen did (`message_metadata["screen"]`) so the Rasa turn neither
logs the message twice nor alerts twice, and still sends the handoff text after the bot's reply.

The screen must never make the webhook fail: its writes run in a savepoint, and any error is logged
(never the text, never an id of the child) and rolled back; the Rasa turn logs the case later.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from api.cases.service import CaseLog
from api.db.after_commit import savepoint
from api.messaging.inbound import clip_inbound_text
from api.messaging.models import Conversation, InboundMessage
from api.messaging.risk import Risk, RiskLevel
from vietnlu import risk as risk_engine

log = logging.getLogger(__name__)

SCREEN_KEY = "screen"
SCREEN_KINDS = ("text", "button")
# Measured on the labelled set: lexicon-only high+ catches ~86% of high+ disclosures with ~0.5%
# false alarms on harmless messages; lower lexicon levels are too noisy to act on without the classifier.
ACT_LEVELS = (RiskLevel.HIGH, RiskLevel.IMMINENT)


def load_risk_lexicon() -> Any:
    """The risk lexicon for the screen (call once at start-up); None turns the screen off."""
    try:
        return risk_engine.load_default_risk_lexicon()
    except Exception:
        log.exception("risk lexicon could not be loaded: the intake screen is off")
        return None


def screen_marker(inbound: InboundMessage) -> dict[str, Any] | None:
    """What the screen did for this inbound message, or None when it did not act."""
    marker = (inbound.message_metadata or {}).get(SCREEN_KEY)
    return marker if isinstance(marker, dict) else None


def screen_inbound(session: Session, inbound: InboundMessage, text: str | None,
                   context: Any, *, learned: bool = False) -> dict[str, Any] | None:
    """Screen a freshly stored inbound message (call inside the webhook's transaction).

    `context` is the app context (api/context.py): its `case_log` and its `risk_lexicon` (loaded at
    start-up); before they exist the screen does nothing. With `learned` (Rasa is down), the rules'
    reading is combined with the learned model's when the gateway has loaded it
    (`context.learned_risk`, api/cases/learned_risk.py).
    Returns the screen marker when the screen opened or joined a case, else None. Never raises.
    """
    if inbound.kind not in SCREEN_KINDS or not text:
        return None
    case_log: CaseLog | None = getattr(context, "case_log", None)
    lexicon = getattr(context, "risk_lexicon", None)
    if case_log is None or lexicon is None:
        return None
    inbound_id = inbound.id
    text = clip_inbound_text(text) or ""  # the stored text is cut the same way (api/messaging/inbound.py)
    try:
        reading = risk_engine.assess(text, None, 0.0, lexicon=lexicon)
        learned_risk = getattr(context, "learned_risk", None) if learned else None
        if learned_risk is not None:
            reading = learned_risk.read(text, reading)
        if reading.level not in ACT_LEVELS:
            return None
        # Rolled back on failure, with the console events it queued for the commit.
        with savepoint(session):
            return _open_or_escalate(session, inbound, text, reading, case_log)
    except Exception as exc:
        log.warning("intake screen failed for inbound %s (%s); the Rasa turn will assess it",
                    inbound_id, type(exc).__name__)
        log.debug("intake screen failure", exc_info=True)
        return None


def _open_or_escalate(session: Session, inbound: InboundMessage, text: str, reading: Any,
                      case_log: CaseLog) -> dict[str, Any] | None:
    conversation = session.get(Conversation, inbound.conversation_id)
    if conversation is None:
        return None
    # Same lock order as the Rasa turn and accept/hand-back: the conversation row first.
    session.refresh(conversation, with_for_update=True)
    change = case_log.record_child_message(
        session, conversation, inbound_id=inbound.id, text=text,
        risk=Risk(level=RiskLevel.of(reading.level), category=reading.category, signals=list(reading.signals)))
    if change is None:
        return None
    marker = {
        "level": reading.level,
        "case_id": change.case.id,
        "escalated": change.escalated,
        # The screen's reading named the case (opened it or raised its level): the Rasa turn's
        # reading of the same message may rename it.
        "named": change.opened or change.level_raised,
    }
    # A new dict, so the JSON column is seen as changed.
    inbound.message_metadata = {**(inbound.message_metadata or {}), SCREEN_KEY: marker}
    return marker
