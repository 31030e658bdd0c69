"""Readable titles of the responses and of the buttons' actions, and the search over them.

Titles are data (response_titles.yml next to this module); a response without an entry gets a title
made from its name, so the console never has to show `utter_` names.
"""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

from api.content.topics import offered, topic_label

TITLES_PATH = Path(__file__).with_name("response_titles.yml")
_PAYLOAD_RE = re.compile(r"^/(?P<topic>[A-Za-z_][\w]*)(?P<entities>\{.*\})?$")
# Actions a button may take that answer no topic of their own.
_PLAIN_ACTIONS = {"/affirm": "Trả lời \"Có\"", "/deny": "Trả lời \"Để sau\" / \"Không\"",
                  "/thank": "Trả lời \"Cảm ơn\"", "/request_counselor": "Xin nói chuyện với tư vấn viên",
                  "/greet": "Chào bot", "/goodbye": "Tạm biệt"}


@lru_cache(maxsize=1)
def _titles() -> dict[str, dict[str, str]]:
    with TITLES_PATH.open(encoding="utf-8") as handle:
        return {str(k): {"title": str(v["title"]), "description": str(v.get("description") or "")}
                for k, v in (yaml.safe_load(handle) or {}).items()}


def has_title(name: str) -> bool:
    return name in _titles()


def title_of(name: str) -> dict[str, str]:
    """{"title", "description"} of a response; without an entry, words made from its name."""
    known = _titles().get(name)
    if known:
        return dict(known)
    words = name.removeprefix("utter_").replace("_", " ").strip()
    return {"title": f"Câu trả lời khác: {words}" if words else "Câu trả lời khác",
            "description": "Chưa có mô tả cho câu trả lời này."}


def fold(text: str) -> str:
    """Lowercase, no diacritics (đ → d), single spaces: "An toàn" and "an toan" compare equal."""
    stripped = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    stripped = "".join(ch for ch in stripped if unicodedata.category(ch) != "Mn")
    return " ".join(re.findall(r"\w+", stripped))


def matches(query: str, *texts: str) -> bool:
    """Every word of the query, folded, appears in the folded texts."""
    haystack = fold(" ".join(texts))
    return all(word in haystack for word in fold(query).split())


def action_label(payload: str) -> str:
    """What a button's payload does, in words: "Trả lời: An toàn trên mạng – Xem thêm"."""
    if payload in _PLAIN_ACTIONS:
        return _PLAIN_ACTIONS[payload]
    match = _PAYLOAD_RE.match(payload.strip())
    if match is None:
        return "Hành động riêng"
    topic, detail = match.group("topic"), _detail(match.group("entities"))
    name = f"utter_{topic}_{detail}" if detail else f"utter_{topic}"
    if has_title(name):
        return f"Trả lời: {title_of(name)['title']}"
    return f"Trả lời: {topic_label(topic)}"


def _detail(entities: str | None) -> str:
    if not entities:
        return ""
    try:
        value = json.loads(entities)
    except ValueError:
        return ""
    return str(value.get("detail") or "") if isinstance(value, dict) else ""


def button_actions(topics: list[str], response_names: list[str], used_payloads: list[str]) -> list[dict[str, str]]:
    """Every action a button may take, with its readable label: each topic the model knows, each
    follow-up answer (`utter_<topic>_<detail>`, payload `/<topic>{"detail":"<detail>"}`) and each
    payload already used by a button."""
    payloads: list[str] = [f"/{t}" for t in topics if offered(t) and not t.startswith("nlu_")]
    for name in response_names:
        for topic in topics:
            prefix = f"utter_{topic}_"
            if name.startswith(prefix) and re.fullmatch(r"[a-z0-9]+", name[len(prefix):]):
                payloads.append(f'/{topic}{{"detail":"{name[len(prefix):]}"}}')
    payloads += used_payloads
    return [{"payload": p, "label": action_label(p)} for p in dict.fromkeys(payloads)]
