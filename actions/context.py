"""A message read together with the conversation's last few user messages.

"tối nay" alone is nothing; after "em muốn chết" it is a plan for tonight. A story told over
three messages adds up. The action joins the last few user messages (within a time window and
the current session) with the current one, asks Rasa's NLU for the risk of the whole, and
keeps that reading only when it says more than every one of those messages did alone: a
"cảm ơn" after a disclosure is still a "cảm ơn", while the case level (kept by the gateway)
only ever goes up.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol

import aiohttp

from actions.replies import LEVELS, level_rank

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 3  # earlier user messages read with the current one
CONTEXT_SECONDS = 30 * 60  # older messages belong to another moment
JOINER = " . "


class RiskReader(Protocol):
    async def read_risk(self, text: str) -> Optional[Dict[str, Any]]:
        """The risk reading of `text` ({"level", "category", "signals"}), or None if unavailable."""


@dataclass
class RasaRiskReader:
    """Reads risk with Rasa's own NLU (`POST /model/parse`), so the context is read by exactly
    the model that reads single messages."""

    url: str
    token: str = field(default="", repr=False)
    timeout_seconds: float = 2.0

    async def read_risk(self, text: str) -> Optional[Dict[str, Any]]:
        params = {"token": self.token} if self.token else {}
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(f"{self.url}/model/parse", json={"text": text}, params=params) as response:
                    response.raise_for_status()
                    body = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            # The message's own reading still stands; the context only ever adds.
            logger.warning("context risk reading unavailable: %s", type(exc).__name__)
            return None
        risk = body.get("risk") if isinstance(body, dict) else None
        return risk if isinstance(risk, dict) and risk.get("level") in LEVELS else None


@dataclass
class EarlierMessage:
    text: str
    level: str  # the level the bot answered it at (its own reading, or raised by its context)


def carries_words(text: str) -> bool:
    """A message typed by the user: not a button payload ("/affirm") nor an event the gateway
    triggers ("EXTERNAL: EXTERNAL_checkin")."""
    return bool(text) and not text.startswith(("/", "EXTERNAL:"))


def _answered_levels(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The session's user events, each with the level the bot's risk payload gave it."""
    users: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "session_started":
            users = []
        elif kind == "user":
            own = ((event.get("parse_data") or {}).get("risk") or {}).get("level") or "none"
            users.append({"event": event, "level": str(own)})
        elif kind == "bot" and users:
            custom = (event.get("data") or {}).get("custom") or {}
            if isinstance(custom, dict) and custom.get("type") == "risk":
                answered = str(custom.get("level") or "none")
                if level_rank(answered) > level_rank(users[-1]["level"]):
                    users[-1]["level"] = answered
    return users


def earlier_user_messages(events: List[Dict[str, Any]]) -> List[EarlierMessage]:
    """The user messages before the latest one, newest last: at most CONTEXT_MESSAGES, none
    older than CONTEXT_SECONDS before the latest, none from before the current session."""
    users = _answered_levels(events)
    if len(users) < 2:
        return []
    latest_time = float(users[-1]["event"].get("timestamp") or 0.0)
    earlier: List[EarlierMessage] = []
    for user in users[-1 - CONTEXT_MESSAGES : -1]:
        event = user["event"]
        text = str(event.get("text") or "")
        if not carries_words(text):
            continue
        if latest_time and latest_time - float(event.get("timestamp") or 0.0) > CONTEXT_SECONDS:
            continue
        earlier.append(EarlierMessage(text, user["level"]))
    return earlier


async def read_in_context(
    own: Dict[str, Any], text: str, earlier: List[EarlierMessage], reader: Optional[RiskReader]
) -> Dict[str, Any]:
    """`own` (the message's reading), or the reading of the joined messages when it is higher
    than `own` and than the level every earlier message was answered at."""
    own_rank = level_rank(own.get("level"))
    if reader is None or not earlier or not carries_words(text) or own_rank == len(LEVELS) - 1:
        return own
    joined = JOINER.join([message.text for message in earlier] + [text])
    in_context = await reader.read_risk(joined)
    if in_context is None:
        return own
    ceiling = max([own_rank] + [level_rank(message.level) for message in earlier])
    if level_rank(in_context.get("level")) <= ceiling:
        return own
    signals = list(own.get("signals") or []) + [f"context:{len(earlier)}"]
    signals += [f"context:{signal}" for signal in in_context.get("signals") or []]
    return {"level": in_context["level"], "category": in_context.get("category") or own.get("category"),
            "signals": signals}
