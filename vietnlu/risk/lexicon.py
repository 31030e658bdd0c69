"""The risk lexicon (data/lexicon/risk.yml): entries, intent floors, emoji and marker lists, compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from vietnlu.lexicon import Lexicon, load_default_lexicon
from vietnlu.risk.levels import DISCLOSURE_TOPICS, LEVELS
from vietnlu.risk.patterns import _as_list, _compile_patterns, _Compounds, _optional_patterns
from vietnlu.text import fold_word

DEFAULT_RISK_LEXICON_PATH = Path(__file__).resolve().parents[2] / "data" / "lexicon" / "risk.yml"


@dataclass(frozen=True)
class RiskEntry:
    category: str
    level: int
    topic: str
    note: str
    regex: re.Pattern[str]
    needs_victim: bool = False
    generic: bool = False
    amplifies: frozenset[str] = frozenset()
    ignores_framing: bool = False
    ignores_hypothetical: bool = False  # counts inside "nếu ..." ("nếu mai em không tỉnh dậy nữa")
    requires: re.Pattern[str] | None = None  # counts only when this also matches the message
    unless: re.Pattern[str] | None = None  # does not count when this matches the message


@dataclass(frozen=True)
class IntentFloor:
    """A disclosure intent whose message names a serious harm counts at least at `level`."""

    intent: str
    level: int
    note: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class EmojiEntry:
    emoji: str
    alone: int
    with_level: int
    boosts: frozenset[str]
    topic: str
    note: str


@dataclass(frozen=True)
class MarkerSet:
    """A named list of compiled patterns (dampers, victim and third-party signals)."""

    name: str
    regexes: tuple[re.Pattern[str], ...]

    def first(self, padded: str) -> re.Match[str] | None:
        for regex in self.regexes:
            match = regex.search(padded)
            if match:
                return match
        return None


def _level(name: Any, where: str) -> int:
    try:
        return LEVELS.index(str(name))
    except ValueError as exc:
        raise ValueError(f"risk lexicon: unknown level {name!r} in {where}") from exc


def _markers(name: str, items: list[dict] | None, lexicon: Lexicon, compounds: _Compounds) -> MarkerSet:
    regexes = tuple(_compile_patterns(_as_list(item.get("patterns")), lexicon, compounds) for item in items or [])
    return MarkerSet(name, regexes)


def _synonyms(raw: dict, lexicon: Lexicon) -> dict[str, str]:
    return {
        fold_word(str(k)): " ".join(lexicon.lemmas([fold_word(w) for w in str(v).split()]))
        for k, v in (raw.get("synonyms") or {}).items()
    }


def _entries(raw: dict, lexicon: Lexicon, compounds: _Compounds) -> list[RiskEntry]:
    entries: list[RiskEntry] = []
    for category, items in (raw.get("categories") or {}).items():
        for index, item in enumerate(items or []):
            where = f"{category}[{index}]"
            topic = str(item.get("topic") or "")
            if topic not in DISCLOSURE_TOPICS:
                raise ValueError(f"risk lexicon: unknown topic {topic!r} in {where}")
            entries.append(
                RiskEntry(
                    category=str(category),
                    level=_level(item.get("level"), where),
                    topic=topic,
                    note=str(item.get("note") or ""),
                    regex=_compile_patterns(_as_list(item.get("patterns")), lexicon, compounds),
                    needs_victim=bool(item.get("needs_victim", False)),
                    generic=bool(item.get("generic", False)),
                    amplifies=frozenset(_as_list(item.get("amplifies"))),
                    ignores_framing=bool(item.get("ignores_framing", False)),
                    ignores_hypothetical=bool(item.get("ignores_hypothetical", False)),
                    requires=_optional_patterns(item.get("requires"), lexicon, compounds),
                    unless=_optional_patterns(item.get("unless"), lexicon, compounds),
                )
            )
    return entries


def _emoji(raw: dict) -> tuple[EmojiEntry, ...]:
    return tuple(
        EmojiEntry(
            emoji=fold_word(str(item["emoji"])),
            alone=_level(item.get("alone", "none"), f"emoji {item['emoji']}"),
            with_level=_level(item.get("with", item.get("level")), f"emoji {item['emoji']}"),
            boosts=frozenset(_as_list(item.get("boosts"))),
            topic=str(item.get("topic")),
            note=str(item.get("note") or ""),
        )
        for item in raw.get("emoji") or []
    )


def _negation_re(dampers: dict, lexicon: Lexicon) -> re.Pattern[str]:
    """A negation, optionally followed by a few filler words, right before where a hit starts."""
    negations = sorted(
        {
            " ".join(lexicon.lemmas([fold_word(w) for w in p.split()]))
            for item in dampers.get("negation") or []
            for p in _as_list(item.get("patterns"))
        },
        key=len,
        reverse=True,
    )
    fillers = "bi|ai|co|tung|he|bao gio|phai|duoc|con|nguoi nao"
    return re.compile(r"(?:^| )(?:{})(?: (?:{}))*$".format("|".join(re.escape(n) for n in negations), fillers))


def _intent_floors(raw: dict, lexicon: Lexicon, compounds: _Compounds) -> tuple[IntentFloor, ...]:
    floors = []
    for index, item in enumerate(raw.get("intent_floors") or []):
        where = f"intent_floors[{index}]"
        if str(item.get("intent")) not in DISCLOSURE_TOPICS:
            raise ValueError(f"risk lexicon: unknown topic {item.get('intent')!r} in {where}")
        floors.append(
            IntentFloor(
                intent=str(item["intent"]),
                level=_level(item.get("level"), where),
                note=str(item.get("note") or ""),
                regex=_compile_patterns(_as_list(item.get("patterns")), lexicon, compounds),
            )
        )
    return tuple(floors)


@dataclass(frozen=True)
class RiskLexicon:
    entries: tuple[RiskEntry, ...]
    emoji: tuple[EmojiEntry, ...]
    hyperbole: MarkerSet
    everyday: MarkerSet
    general_question: MarkerSet
    general_question_weak: MarkerSet
    hypothetical: MarkerSet
    story: MarkerSet  # a news item, a film or a book: not a child the writer knows
    general_question_strong: MarkerSet  # "có thể đang bị", "làm sao biết": general even with a child named
    joke_context: MarkerSet  # a guessed punishment ("chắc", "mà biết"): a joke beside a laugh
    laughs: tuple[str, ...]  # laughing emoji, emoticons and "haha": read on the raw text
    past_over: MarkerSet
    victim_first_person: MarkerSet
    victim_specific: MarkerSet
    victim_event: MarkerSet
    third_party: MarkerSet
    own_situation: MarkerSet
    urgent_violence: MarkerSet
    urgent_situation: MarkerSet
    urgent_time: MarkerSet
    not_urgent: MarkerSet
    intent_floors: tuple[IntentFloor, ...]
    negation_re: re.Pattern[str]
    compounds: _Compounds = field(repr=False)
    text_lexicon: Lexicon = field(repr=False)
    synonyms: dict[str, str] = field(repr=False, default_factory=dict)
    raw: dict = field(repr=False, default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_RISK_LEXICON_PATH, text_lexicon: Lexicon | None = None) -> RiskLexicon:
        """Read and compile the YAML file; patterns are folded and teencode-expanded like messages."""
        lexicon = text_lexicon or load_default_lexicon()
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        compounds = _Compounds(_as_list(raw.get("compounds")), lexicon)
        synonyms = _synonyms(raw, lexicon)
        entries = _entries(raw, lexicon, compounds)
        emoji = _emoji(raw)
        dampers = raw.get("dampers") or {}
        negation_re = _negation_re(dampers, lexicon)
        victims = raw.get("victim_signals") or {}
        urgency = raw.get("urgency") or {}
        floors = _intent_floors(raw, lexicon, compounds)
        return cls(
            entries=tuple(entries),
            emoji=emoji,
            hyperbole=_markers("hyperbole", dampers.get("hyperbole"), lexicon, compounds),
            everyday=_markers("everyday", dampers.get("everyday"), lexicon, compounds),
            general_question=_markers("general", dampers.get("general_question"), lexicon, compounds),
            general_question_weak=_markers("general", dampers.get("general_question_weak"), lexicon, compounds),
            hypothetical=_markers("hypothetical", dampers.get("hypothetical"), lexicon, compounds),
            story=_markers("story", dampers.get("story"), lexicon, compounds),
            general_question_strong=_markers("general", dampers.get("general_question_strong"), lexicon, compounds),
            joke_context=_markers("joke", (dampers.get("joke") or {}).get("context"), lexicon, compounds),
            laughs=tuple(
                str(laugh).lower()
                for item in (dampers.get("joke") or {}).get("laughs") or []
                for laugh in _as_list(item.get("marks"))
            ),
            past_over=_markers("past_over", dampers.get("past_over"), lexicon, compounds),
            victim_first_person=_markers("victim", victims.get("first_person"), lexicon, compounds),
            victim_specific=_markers("specific", victims.get("specific"), lexicon, compounds),
            victim_event=_markers("event", victims.get("event"), lexicon, compounds),
            third_party=_markers("third_party", raw.get("third_party"), lexicon, compounds),
            own_situation=_markers("own", victims.get("own_situation"), lexicon, compounds),
            urgent_violence=_markers("violence_now", urgency.get("violence_now"), lexicon, compounds),
            urgent_situation=_markers("danger_now", urgency.get("danger_now"), lexicon, compounds),
            urgent_time=_markers("time_now", urgency.get("time_now"), lexicon, compounds),
            not_urgent=_markers("not_urgent", urgency.get("not_urgent"), lexicon, compounds),
            intent_floors=floors,
            negation_re=negation_re,
            compounds=compounds,
            synonyms=synonyms,
            text_lexicon=lexicon,
            raw=raw,
        )


@lru_cache(maxsize=4)
def load_default_risk_lexicon(path: str = str(DEFAULT_RISK_LEXICON_PATH)) -> RiskLexicon:
    return RiskLexicon.load(path)
