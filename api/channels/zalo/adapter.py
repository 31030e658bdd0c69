"""Zalo adapter: bot replies rendered as consultation messages, and the user's typed choices read back.

Consultation messages have no buttons, so Rasa buttons become a numbered list and the
numbers the user types back ("1", "số 2") are mapped to the button payloads. Texts longer
than Zalo's limit are split, preferably at paragraph, line or sentence boundaries.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from api.messaging.senders import CHANNEL_TEXT_LIMITS, normalize_buttons, split_text
from api.messaging.texts import UserText

logger = logging.getLogger(__name__)

ZALO_TEXT_LIMIT = CHANNEL_TEXT_LIMITS["zalo"]
# Under the numbered list that stands in for buttons (edited in the content console).
CHOICE_HINT = UserText("utter_zalo_choice_hint", "(Bạn nhắn số để chọn nhé.)")


@dataclass(frozen=True)
class Choice:
    number: int
    title: str
    payload: str


@dataclass(frozen=True)
class RenderedReply:
    texts: list[str]
    image_url: str | None
    choices: list[Choice]


def render_reply(payload: dict[str, Any], limit: int = ZALO_TEXT_LIMIT,
                 choice_hint: str = CHOICE_HINT.default) -> RenderedReply:
    """Turn one outbox payload (text, buttons, image) into Zalo texts plus the numbered choices.

    The outbox already split long texts; the numbered list can push the last part over the
    limit, and then the list goes out as a second message."""
    text = payload.get("text") if isinstance(payload.get("text"), str) else ""
    choices = [
        Choice(number=number, title=button.title, payload=button.payload)
        for number, button in enumerate(normalize_buttons(payload.get("buttons")), start=1)
    ]
    body = (text or "").strip()
    if choices:
        listing = "\n".join(f"{choice.number}. {choice.title}" for choice in choices) + "\n" + choice_hint
        body = f"{body}\n\n{listing}" if body else listing
    image = payload.get("image")
    image_url = image if isinstance(image, str) and image.startswith("https://") else None
    return RenderedReply(texts=split_text(body, limit) if body else [], image_url=image_url, choices=choices)


_CHOICE_PATTERN = re.compile(r"^(?:(?:so|chon|cau|y|phuong an|lua chon)\s*)?(?:#\s*)?(\d{1,2})\s*[.)!]*$")


def _fold(text: str) -> str:
    """Lowercase and strip Vietnamese diacritics ("số" → "so", "chọn" → "chon")."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def parse_choice(text: str, count: int) -> int | None:
    """The option number a short reply picks ("1", "số 2", "chọn 3."), or None."""
    if count <= 0 or len(text) > 20:
        return None
    match = _CHOICE_PATTERN.match(" ".join(_fold(text).split()))
    if not match:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= count else None
