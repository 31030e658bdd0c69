"""Vietnamese names for topic codes, risk levels and the model's certainty, as the content console shows them.

`topic_label()` is the one lookup of a topic's name: the names are data (topic_names.yml next to this
module), and a code without a name is shown as "Chủ đề khác" so no internal code reaches the screen.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TOPIC_NAMES_PATH = Path(__file__).with_name("topic_names.yml")
UNKNOWN_TOPIC = "Chủ đề khác"
# Topics of the inbox's list that the gateway answers itself (api/content/directory.py), not the model.
EXTRA_TOPICS = ("ask_local_help",)
RISK_LEVEL_NAMES = {"none": "Không có dấu hiệu nguy cơ", "concern": "Đáng lo", "high": "Nguy cơ cao",
                    "imminent": "Nguy hiểm ngay"}
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "web": "Web chat"}
# Below LOW the model's guess is a hint at most; the inbox only holds guesses under 0.5.
_CERTAINTY = ((0.3, "rất không chắc"), (0.5, "không chắc"), (0.8, "khá chắc"), (1.01, "chắc chắn"))


@lru_cache(maxsize=1)
def _names() -> dict[str, dict[str, Any]]:
    with TOPIC_NAMES_PATH.open(encoding="utf-8") as handle:
        return {str(k): dict(v) for k, v in (yaml.safe_load(handle) or {}).items()}


def topic_label(code: str | None) -> str:
    """The Vietnamese name of a topic code (retrieval intents `faq/<topic>` read as `<topic>`)."""
    if not code:
        return "Chưa đoán được"
    entry = _names().get(code.removeprefix("faq/"))
    return str(entry["label"]) if entry else UNKNOWN_TOPIC


def topic_group(code: str) -> str:
    entry = _names().get(code)
    return str(entry.get("group") or "Khác") if entry else "Khác"


def offered(code: str) -> bool:
    """A topic staff may pick: not one the gateway sends by itself."""
    entry = _names().get(code)
    return not (entry and entry.get("hidden")) and not code.startswith("EXTERNAL_")


def topic_choices(domain_topics: list[str]) -> list[dict[str, str]]:
    """The topics staff may assign, each with its name and group, grouped in the order of the names file."""
    order = list(_names())
    codes = [c for c in dict.fromkeys([*domain_topics, *EXTRA_TOPICS]) if offered(c)]
    codes.sort(key=lambda c: (order.index(c) if c in order else len(order), c))
    return [{"topic": c, "label": topic_label(c), "group": topic_group(c)} for c in codes]


def certainty_word(confidence: float | None) -> str:
    """How sure the model was, in a word (the raw score means nothing to campaign staff)."""
    if confidence is None:
        return "không rõ"
    return next(word for limit, word in _CERTAINTY if confidence < limit)


def risk_level_label(level: str | None) -> str:
    return RISK_LEVEL_NAMES.get(level or "none", RISK_LEVEL_NAMES["none"])


def labels() -> dict[str, dict[str, str]]:
    """Every name the console shows for a code: topics, risk levels, channels."""
    return {"topics": {code: str(v["label"]) for code, v in _names().items()},
            "levels": dict(RISK_LEVEL_NAMES), "channels": dict(CHANNEL_NAMES)}
