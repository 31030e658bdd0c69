"""The actions that answer every user message.

`action_handle_risk` answers disclosure intents; `action_answer` answers everything else but
hands over to the same risk reply whenever the message itself carries risk, so a disclosure
the classifier filed under another topic still gets the safe answer with 111.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import RasaRiskReader, RiskReader, earlier_user_messages, read_in_context
from actions.replies import LEVELS, Reply, Turn, level_rank, plan_reply

logger = logging.getLogger(__name__)


def turn_from_tracker(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    risk = message.get("risk") or {}
    if not isinstance(risk, dict):
        risk = {}
    ranking = [
        (item.get("name"), float(item.get("confidence") or 0.0))
        for item in (message.get("intent_ranking") or [])
        if item.get("name")
    ]
    details = [str(entity.get("value")) for entity in (message.get("entities") or [])
               if isinstance(entity, dict) and entity.get("entity") == "detail" and entity.get("value")]
    return Turn(
        text=str(message.get("text") or ""),
        detail=details[0] if details else None,
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        risk={"level": risk.get("level", "none"), "category": risk.get("category"),
              "signals": list(risk.get("signals") or [])},
        ranking=ranking,
        counselor_offered=bool(tracker.get_slot("counselor_offered")),
        fallback_count=int(tracker.get_slot("fallback_count") or 0),
    )


def reply_events(tracker: Tracker, turn: Turn, reply: Reply) -> List[EventType]:
    """Slots keep the highest risk seen in the conversation and the offer state."""
    events: List[EventType] = [
        SlotSet("counselor_offered", reply.counselor_offered),
        SlotSet("fallback_count", float(reply.fallback_count)),
    ]
    previous = tracker.get_slot("risk_level") or "none"
    if level_rank(turn.level) > level_rank(previous) or previous not in LEVELS:
        events.append(SlotSet("risk_level", turn.level))
        events.append(SlotSet("risk_category", turn.risk.get("category")))
    if reply.counselor_requested:
        events.append(SlotSet("counselor_requested", True))
    return events


def risk_payload(turn: Turn, reply: Reply) -> Dict[str, Any]:
    """The custom payload the gateway reads for the case log; never shown to the user."""
    return {
        "type": "risk",
        "level": turn.level,
        "category": turn.risk.get("category"),
        "signals": turn.risk.get("signals", []),
        "escalate": reply.escalate,
        "counselor_requested": reply.counselor_requested,
        "intent": turn.intent,
        "confidence": round(turn.confidence, 4),
        "fallback": "utter_clarify" in reply.responses or "utter_default" in reply.responses,
    }


def risk_reader_from_env() -> Optional[RiskReader]:
    """Rasa's NLU for reading a message in context (RASA_URL, RASA_TOKEN); None when unset."""
    url = os.environ.get("RASA_URL", "").rstrip("/")
    return RasaRiskReader(url, os.environ.get("RASA_TOKEN", "")) if url else None


class RiskFirstReply:
    """Shared `run` of the two actions (a mixin: the SDK registers every Action subclass)."""

    def __init__(self, risk_reader: Optional[RiskReader] = None) -> None:
        # The SDK builds actions without arguments: the reader then comes from the environment.
        self.risk_reader = risk_reader if risk_reader is not None else risk_reader_from_env()

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[Dict[Text, Any]]:
        turn = turn_from_tracker(tracker)
        earlier = earlier_user_messages(list(tracker.events or []))
        turn.risk = await read_in_context(turn.risk, turn.text, earlier, self.risk_reader)
        reply = plan_reply(turn)
        logger.debug("reply for intent=%s level=%s: %s", turn.intent, turn.level, reply.responses)
        for index, response in enumerate(reply.responses):
            is_last = index == len(reply.responses) - 1
            if is_last and reply.buttons:
                dispatcher.utter_message(response=response, buttons=reply.buttons)
            else:
                dispatcher.utter_message(response=response)
        dispatcher.utter_message(json_message=risk_payload(turn, reply))
        return reply_events(tracker, turn, reply)


class ActionAnswer(RiskFirstReply, Action):
    def name(self) -> Text:
        return "action_answer"


class ActionHandleRisk(RiskFirstReply, Action):
    def name(self) -> Text:
        return "action_handle_risk"
