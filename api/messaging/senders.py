"""The sender contract the delivery worker relies on, plus channel-neutral rendering helpers.

A channel sender (api/channels/<name>/sender.py) turns one outbox payload ({"text", "buttons",
"image", ...}) into one platform message. Senders are registered on the app context's `channel_senders`
(a ChannelRegistry) by channel name when their channel starts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# Longest text one platform message may carry; longer texts are split before they reach the outbox.
CHANNEL_TEXT_LIMITS: dict[str, int] = {"telegram": 4096, "zalo": 2000}


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send. `retry_after` (seconds) is the platform's hint for transient errors."""

    ok: bool
    retry_after: float | None = None
    permanent: bool = False
    error: str | None = None

    @classmethod
    def sent(cls) -> SendResult:
        return cls(ok=True)

    @classmethod
    def transient(cls, error: str, retry_after: float | None = None) -> SendResult:
        return cls(ok=False, retry_after=retry_after, permanent=False, error=error)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        return cls(ok=False, permanent=True, error=error)


@runtime_checkable
class ChannelSender(Protocol):
    channel: str

    async def send(self, platform_user_id: str, payload: dict[str, Any]) -> SendResult:
        """Send one payload; never raise for platform errors, report them in the SendResult."""
        ...


class ChannelRegistry:
    """The channel senders of this process, by channel name (the app context's `channel_senders`)."""

    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}

    def register(self, sender: ChannelSender) -> None:
        self._senders[sender.channel] = sender

    def unregister(self, channel: str) -> None:
        self._senders.pop(channel, None)

    def get(self, channel: str) -> ChannelSender | None:
        return self._senders.get(channel)

    def channels(self) -> list[str]:
        return sorted(self._senders)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


def normalize_buttons(raw: Any) -> list[Button]:
    """Rasa buttons ({"title", "payload"}) as Button objects; malformed entries are skipped."""
    buttons: list[Button] = []
    if not isinstance(raw, list):
        return buttons
    for item in raw:
        if not isinstance(item, dict):
            continue
        title = str(item.get("title") or "").strip()
        payload = str(item.get("payload") or title).strip()
        if title:
            buttons.append(Button(title=title, payload=payload))
    return buttons


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_text(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` characters, on paragraph, then line, then sentence,
    then word boundaries; a single over-long word is cut hard."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    remaining = text
    while len(remaining) > limit:
        window = remaining[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n"):
            position = window.rfind(separator, 0, limit)
            if position > 0:
                cut = position
                break
        if cut <= 0:
            ends = [m.start() for m in _SENTENCE_END.finditer(window) if 0 < m.start() <= limit]
            cut = ends[-1] if ends else -1
        if cut <= 0:
            position = window.rfind(" ", 0, limit)
            cut = position if position > 0 else limit
        part = remaining[:cut].rstrip()
        if part:
            parts.append(part)
        remaining = remaining[cut:].lstrip()
    if remaining:
        parts.append(remaining)
    return parts


def split_payload_for_channel(channel: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One payload as one or more payloads that each fit the channel; extras (buttons, image)
    go with the last text part so they appear under the end of the message."""
    limit = CHANNEL_TEXT_LIMITS.get(channel)
    text = payload.get("text")
    if not limit or not isinstance(text, str) or len(text) <= limit:
        return [payload]
    pieces = split_text(text, limit)
    extras = {k: v for k, v in payload.items() if k != "text"}
    result: list[dict[str, Any]] = [{"text": piece} for piece in pieces[:-1]]
    result.append({**extras, "text": pieces[-1]})
    return result
