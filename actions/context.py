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
from dataclasses import dataclass
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
    token: str = ""
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
    level: str


def earlier_user_messages(events: List[Dict[str, Any]]) -> List[EarlierMessage]:
    """The user messages before the latest one, newest last: at most CONTEXT_MESSAGES, none
    older than CONTEXT_SECONDS before the latest, none from before the current session."""
    users: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            users = []
        elif event.get("event") == "user":
            users.append(event)
    if len(users) < 2:
        return []
    latest_time = float(users[-1].get("timestamp") or 0.0)
    earlier: List[EarlierMessage] = []
    for event in users[-1 - CONTEXT_MESSAGES : -1]:
        text = str(event.get("text") or "")
        if not text or text.startswith("/"):  # button payloads carry no words
            continue
        if latest_time and latest_time - float(event.get("timestamp") or 0.0) > CONTEXT_SECONDS:
            continue
        risk = (event.get("parse_data") or {}).get("risk") or {}
        earlier.append(EarlierMessage(text, str(risk.get("level") or "none")))
    return earlier


async def read_in_context(
    own: Dict[str, Any], text: str, earlier: List[EarlierMessage], reader: Optional[RiskReader]
) -> Dict[str, Any]:
    """`own` (the message's reading), or the reading of the joined messages when it is higher
    than `own` and than every earlier message's own reading."""
    own_rank = level_rank(own.get("level"))
    if reader is None or not earlier or not text or own_rank == len(LEVELS) - 1:
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
