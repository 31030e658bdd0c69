"""Risk on every message: the classifier's disclosure intents combined with the risk lexicon.

Pure Python (no Rasa import), so the Rasa component, the gateway and the tests share it.

    lexicon = RiskLexicon.load()                       # data/lexicon/risk.yml, compiled once
    risk = assess("chú em hay sờ chỗ kín em", "disclose_sexual_abuse", 0.91, lexicon=lexicon)
    risk.as_dict()  # {"level": "high", "category": "disclose_sexual_abuse", "signals": [...]}

How the level is reached (levels: none < concern < high < imminent):
1. The classifier: a disclosure intent at good confidence gives its topic's typical level, at lower
   confidence (or as a strong runner-up) at least concern.
2. The lexicon: every entry that matches the folded, teencode-expanded text gives its level, even
   when the classifier picked another topic (the safety net).
3. Dampers: hyperbole is blanked out before matching ("học muốn chết"); a general or hypothetical
   question with no named victim or actor drops the lexicon hits, and so does a news item or a
   film retold ("trên báo có vụ ..."); a question about how to tell whether a child "có thể đang
   bị" harmed stays general even when it names one; a joke (a laugh beside a guessed punishment,
   "chắc mẹ xử em luôn 😂") drops violence hits; a denial ("em không bị ai đánh") drops a hit; harm that is
   clearly over keeps high at concern (not when the child asks "em có bị công an bắt không").
4. Intent floors: a disclosure intent whose message names serious harm (injury, labour,
   images) counts at least high, also as a third-party report.
5. Right now: a sure disclosure beside a marker of the `urgency` section (harm happening now,
   a present danger, "tối nay"/"bây giờ") becomes imminent, unless framed as a question or over.
6. The highest level wins: when two readings disagree, the higher one is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from vietnlu.lexicon import Lexicon, load_default_lexicon
from vietnlu.text import fold_word

DEFAULT_RISK_LEXICON_PATH = Path(__file__).resolve().parent.parent / "data" / "lexicon" / "risk.yml"

LEVELS = ("none", "concern", "high", "imminent")
NONE, CONCERN, HIGH, IMMINENT = range(4)

DISCLOSURE_TOPICS = (
    "disclose_sexual_abuse",
    "disclose_physical_abuse",
    "disclose_online_abuse",
    "disclose_bullying",
    "disclose_neglect",
    "disclose_self_harm",
    "report_third_party",
)
# The level a confident disclosure intent implies when nothing else is known.
TYPICAL_LEVEL = {
    "disclose_sexual_abuse": HIGH,
    "disclose_physical_abuse": HIGH,
    "disclose_online_abuse": HIGH,
    "disclose_self_harm": HIGH,
    "disclose_bullying": CONCERN,
    "disclose_neglect": CONCERN,
    "report_third_party": CONCERN,
}
# Harm that is high even when it happens to another child (labels: third-party report of such abuse).
THIRD_PARTY_HIGH_TOPICS = {"disclose_sexual_abuse", "disclose_online_abuse", "disclose_self_harm"}

# Confidence thresholds. Low on purpose: a missed disclosure costs more than a follow-up question.
TOP_TYPICAL = 0.5  # top intent at or above: its typical level
TOP_CONCERN = 0.3  # top intent at or above: at least concern
SECOND_TYPICAL = 0.35  # runner-up disclosure at or above: its typical level
SECOND_CONCERN = 0.2  # runner-up disclosure at or above: at least concern
SELF_DISCLOSURE_OVER_THIRD_PARTY = 0.8  # a confident self-disclosure outweighs third-party wording
BARE_WORD_QUESTION = 0.5  # a bare "xâm hại" with no victim counts for nothing when the classifier
# is at least this sure the message is a non-disclosure (a question, small talk)
FRAMED_INTENT_CONCERN = 0.85  # a general question still counts as concern if the classifier is this sure
HYPERBOLE_INTENT_CONCERN = 0.7  # hyperbole and nothing else: concern only if the classifier is this sure
URGENT_INTENT = 0.45  # a disclosure intent this sure can be lifted to imminent by a right-now marker
# Concern-level harm that a time marker alone ("tối nay", "bây giờ") makes imminent: being hit or
# touched tonight is danger now; being teased or ignored tonight is not.
TIME_LIFTS_CONCERN = {"disclose_physical_abuse", "disclose_sexual_abuse", "disclose_self_harm"}

DEFAULT_GAP = 4
NUMBER_REGEX = r" \d+"  # "#" in a pattern: any number ("# tuổi", "lớp #")
_PATTERN_TOKEN_RE = re.compile(r"\(|\)|\||\.\.\.\d*|…\d*|[^\s()|]+")


# --------------------------------------------------------------------------- pattern compiler


class _Compounds:
    """Joins compound nouns ("trẻ em" → "tre_em") so their parts do not read as pronouns."""

    def __init__(self, phrases: Iterable[str], lexicon: Lexicon):
        folded = {" ".join(lexicon.lemmas([fold_word(w) for w in str(p).split()])) for p in phrases}
        folded = {p for p in folded if " " in p}
        self._regex = (
            re.compile(r"(?<= )({})(?= )".format("|".join(re.escape(p) for p in sorted(folded, key=len, reverse=True))))
            if folded
            else None
        )

    def join(self, padded: str) -> str:
        if self._regex is None:
            return padded
        return self._regex.sub(lambda m: m.group(0).replace(" ", "_"), padded)


def _compile_pattern(pattern: str, lexicon: Lexicon, compounds: _Compounds | None = None) -> str:
    """Translate one lexicon pattern into a regex over " " + normalised text + " ".

    Every word becomes " word" (leading space = word boundary), so optional groups and gaps
    compose without extra spaces; the caller adds the trailing (?= ) boundary.
    """
    tokens = _PATTERN_TOKEN_RE.findall(pattern)
    pos = 0

    def words_regex(words: list[str]) -> str:
        folded = [fold_word(w) for w in words]
        text = " " + " ".join(lexicon.lemmas(folded)) + " "
        if compounds is not None:
            text = compounds.join(text)
        return "".join(NUMBER_REGEX if w == "#" else " " + re.escape(w) for w in text.split())

    def parse_sequence(inside_group: bool) -> str:
        nonlocal pos
        parts: list[str] = []
        run: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            if tok in (")", "|"):
                if not inside_group:
                    raise ValueError(f"risk lexicon: unbalanced '{tok}' in {pattern!r}")
                break
            pos += 1
            if tok == "(":
                parts.append(words_regex(run))
                run = []
                parts.append(parse_group())
            elif tok.startswith(("...", "…")):
                parts.append(words_regex(run))
                run = []
                digits = tok.lstrip(".…")
                parts.append(r"(?: \S+){0,%d}" % (int(digits) if digits else DEFAULT_GAP))  # noqa: UP031
            else:
                run.append(tok)
        parts.append(words_regex(run))
        return "".join(parts)

    def parse_group() -> str:
        nonlocal pos
        alternatives = [parse_sequence(True)]
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            alternatives.append(parse_sequence(True))
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ValueError(f"risk lexicon: missing ')' in {pattern!r}")
        pos += 1
        return "(?:" + "|".join(alternatives) + ")"

    regex = parse_sequence(False)
    if not regex.strip():
        raise ValueError(f"risk lexicon: empty pattern {pattern!r}")
    return regex


def _compile_patterns(
    patterns: Iterable[str], lexicon: Lexicon, compounds: _Compounds | None = None
) -> re.Pattern[str]:
    alternatives = [_compile_pattern(str(p), lexicon, compounds) for p in patterns]
    if not alternatives:
        raise ValueError("risk lexicon: an entry has no patterns")
    return re.compile("(?:" + "|".join(alternatives) + ")(?= )")


def _optional_patterns(value: Any, lexicon: Lexicon, compounds: _Compounds) -> re.Pattern[str] | None:
    patterns = _as_list(value)
    return _compile_patterns(patterns, lexicon, compounds) if patterns else None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --------------------------------------------------------------------------- lexicon


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
        synonyms = {
            fold_word(str(k)): " ".join(lexicon.lemmas([fold_word(w) for w in str(v).split()]))
            for k, v in (raw.get("synonyms") or {}).items()
        }
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
        emoji = tuple(
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
        dampers = raw.get("dampers") or {}
        negations = sorted(
            {
                " ".join(lexicon.lemmas([fold_word(w) for w in p.split()]))
                for item in dampers.get("negation") or []
                for p in _as_list(item.get("patterns"))
            },
            key=len,
            reverse=True,
        )
        # A negation, optionally followed by a few filler words, right before where a hit starts.
        fillers = "bi|ai|co|tung|he|bao gio|phai|duoc|con|nguoi nao"
        negation_re = re.compile(
            r"(?:^| )(?:{})(?: (?:{}))*$".format("|".join(re.escape(n) for n in negations), fillers)
        )
        victims = raw.get("victim_signals") or {}
        urgency = raw.get("urgency") or {}
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
            intent_floors=tuple(floors),
            negation_re=negation_re,
            compounds=compounds,
            synonyms=synonyms,
            text_lexicon=lexicon,
            raw=raw,
        )


@lru_cache(maxsize=4)
def load_default_risk_lexicon(path: str = str(DEFAULT_RISK_LEXICON_PATH)) -> RiskLexicon:
    return RiskLexicon.load(path)


# --------------------------------------------------------------------------- assessment


@dataclass
class RiskAssessment:
    level: str = "none"
    category: str | None = None
    signals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "category": self.category, "signals": list(self.signals)}


@dataclass
class _Candidate:
    level: int
    topic: str
    source: str  # "intent", "lex", "floor" or "emoji"
    generic: bool = False
    sure: bool = True  # False for a disclosure intent read at low confidence


_MASK_RE = re.compile(r"\S+")
# Topics a joke can damp: a laugh beside a guessed beating is banter; beside self-harm or sexual
# abuse words it may be nervous laughter, so those still count.
JOKE_DAMPS = {"disclose_physical_abuse", "disclose_bullying", "report_third_party"}


def _laughs(text: str, laughs: tuple[str, ...]) -> str | None:
    """The first laugh in the raw text: emoticons are gone after normalising ("=))" ) and "kkk"
    would read as "không", so they are looked for before. A word laugh counts when a word starts
    with it ("hahaha" for "haha")."""
    lowered = (text or "").lower()
    words = re.findall(r"[^\W\d_]+", lowered)
    for laugh in laughs:
        if laugh.isalpha():
            if any(word.startswith(laugh) for word in words):
                return laugh
        elif laugh in lowered:
            return laugh
    return None


# A denial inside a matched phrase: "em không bị ai đánh", "chưa bao giờ bị".
_NEGATED_VICTIM_RE = re.compile(r" (?:khong|chua|chang|cha)(?: he| bao gio| tung| co)* bi ")


def _mask(padded: str, markers: MarkerSet, signals: list[str]) -> str:
    """Blank out hyperbole or everyday phrases so risk patterns cannot fire on them.

    The word count is kept, so gaps in patterns still measure the same distance.
    """
    for regex in markers.regexes:

        def blank(match: re.Match[str]) -> str:
            signals.append(f"damp:{markers.name}:{match.group(0).strip()}")
            return _MASK_RE.sub("_", match.group(0))

        padded = regex.sub(blank, padded)
    return padded


# Right after a "harm is over" phrase, a question word: "em có bị công an bắt không" asks what
# will happen to the child, it does not say the abuser was arrested.
_QUESTION_AFTER_RE = re.compile(r" (?:khong|chua|sao)(?= |$)")


def _past_over(lex: RiskLexicon, masked: str) -> re.Match[str] | None:
    """The first "harm is over" phrase that is not the child's own question about the law."""
    for regex in lex.past_over.regexes:
        for match in regex.finditer(masked):
            if not _QUESTION_AFTER_RE.match(masked, match.end()):
                return match
    return None


def _intent_candidates(
    intent: str | None,
    confidence: float,
    ranking: list[tuple[str, float]] | None,
    signals: list[str],
) -> list[_Candidate]:
    found: list[_Candidate] = []
    if intent in TYPICAL_LEVEL and confidence >= TOP_CONCERN:
        level = TYPICAL_LEVEL[intent] if confidence >= TOP_TYPICAL else CONCERN
        found.append(_Candidate(level, intent, "intent", sure=confidence >= URGENT_INTENT))
        signals.append(f"intent:{intent}:{confidence:.2f}")
    for name, probability in (ranking or [])[:3]:
        if name == intent or name not in TYPICAL_LEVEL or probability < SECOND_CONCERN:
            continue
        level = TYPICAL_LEVEL[name] if probability >= SECOND_TYPICAL else CONCERN
        found.append(_Candidate(level, name, "intent", sure=probability >= SECOND_TYPICAL))
        signals.append(f"intent2:{name}:{probability:.2f}")
        break
    return found


def _lift_urgent(lex: RiskLexicon, text: str, candidates: list[_Candidate], signals: list[str]) -> None:
    """Lift disclosures to imminent beside the urgency markers of the lexicon (section `urgency`).

    Harm happening now ("đang đánh") or a present danger ("đứng chờ ngoài cửa") lifts any sure
    disclosure; a time marker ("tối nay", "bây giờ") lifts high harm, and hitting or touching.
    """
    if max(c.level for c in candidates) >= IMMINENT:
        return
    sure = [c for c in candidates if c.sure and c.level >= CONCERN]
    if not sure:
        return
    marker = lex.urgent_violence.first(text) or lex.urgent_situation.first(text)
    lifted = sure if marker is not None else []
    if marker is None:
        marker = lex.urgent_time.first(text)
        if marker is not None:
            lifted = [c for c in sure if c.level >= HIGH or c.topic in TIME_LIFTS_CONCERN]
    if not lifted or marker is None:
        return
    signals.append(f"urgent:{marker.group(0).strip()}")
    best = max(lifted, key=lambda c: c.level)
    candidates.append(_Candidate(IMMINENT, best.topic, "urgent", best.generic))


def assess(
    text: str,
    intent: str | None,
    confidence: float,
    ranking: list[tuple[str, float]] | None = None,
    lexicon: RiskLexicon | None = None,
    text_lexicon: Lexicon | None = None,
) -> RiskAssessment:
    """Risk level, category and the signals that fired for one user message.

    `text_lexicon` normalises the message (default: the teencode lexicon the risk lexicon was
    compiled with); pass the pipeline's own when it loaded a different teencode file.
    """
    lex = lexicon or load_default_risk_lexicon()
    signals: list[str] = []
    confidence = float(confidence or 0.0)
    normalised = (text_lexicon or lex.text_lexicon).normalise(text or "")
    if lex.synonyms:
        normalised = " ".join(lex.synonyms.get(token, token) for token in normalised.split())
    padded = lex.compounds.join(f" {normalised} ")

    # --- context of the whole message
    masked = _mask(padded, lex.hyperbole, signals)
    hyperbole = masked != padded
    # Right-now markers are looked for after the not-urgent phrases are blanked, before the
    # everyday phrases are ("còn sợ" must still read as a feeling, not be blanked as "con số").
    urgency_text = _mask(_mask(masked, lex.not_urgent, signals), lex.everyday, [])
    masked = _mask(masked, lex.everyday, signals)
    first_person = lex.victim_first_person.first(masked) is not None
    event = lex.victim_event.first(masked) is not None
    specific = event or lex.victim_specific.first(masked) is not None
    # A general question. A hypothetical ("nếu") is undone only by a real event (an actor, a
    # time, a threat); a general framing ("là gì", "dấu hiệu") also by a specific child; a weak
    # one ("thì phải làm sao") also by a plain "em bị".
    # A question about the writer's own situation ("em có nên kể không nếu người làm chuyện đó
    # với em là ba") is a disclosure asked as a question: no framing damps it.
    own_situation = lex.own_situation.first(masked)
    if own_situation is not None:
        signals.append(f"own:{own_situation.group(0).strip()}")
    framed_by = None
    if not (event or own_situation):
        framed_by = lex.hypothetical.first(masked)
    hypothetical_only = framed_by is not None
    if framed_by is None and not (specific or own_situation):
        framed_by = lex.general_question.first(masked)
    # "... tui phải làm sao" after naming another child or harm happening right now ("nhà bên
    # cạnh đang đánh đứa nhỏ") asks for help, so those undo the weak framing too.
    third_party_match = lex.third_party.first(masked)
    harm_now = lex.urgent_violence.first(urgency_text)
    if framed_by is None and not (specific or first_person or own_situation or third_party_match or harm_now):
        framed_by = lex.general_question_weak.first(masked)
    # A story ("trên báo có vụ bé bị cha trói") names an actor and a time, yet no child the writer
    # knows: only the writer as the victim, or their own situation, undoes it.
    # "đứa bé bị", "cậu bé bị" in a story name a character, not the writer.
    writer_victim = any(
        not match.group(0).startswith(" be ")
        for regex in lex.victim_first_person.regexes
        for match in regex.finditer(masked)
    )
    if framed_by is None and not (writer_victim or own_situation):
        framed_by = lex.story.first(masked)
    # "có thể đang bị", "làm sao biết ... đang bị": how to tell, even about one's own child.
    if framed_by is None and not own_situation:
        framed_by = lex.general_question_strong.first(masked)
    # A joke: a laugh beside a guessed punishment ("chắc ba đập tui chết quá 🤣"). Real harm told
    # with a laugh ("hôm qua bị đánh chảy máu haha") has no guess and is not damped.
    joke = None
    laugh = _laughs(text, lex.laughs) if lex.laughs else None
    if framed_by is None and laugh is not None:
        joke = lex.joke_context.first(masked)
        if joke is not None:
            signals.append(f"damp:joke:{laugh}:{joke.group(0).strip()}")
    past_over = _past_over(lex, masked)

    # --- the classifier
    candidates = _intent_candidates(intent, confidence, ranking, signals)

    # --- the lexicon
    lexical: list[_Candidate] = []
    amplifiers: list[tuple[RiskEntry, str]] = []
    for entry in lex.entries:
        match = entry.regex.search(masked)
        if not match:
            continue
        phrase = match.group(0).strip()
        if (entry.requires is not None and not entry.requires.search(masked)) or (
            entry.unless is not None and entry.unless.search(masked)
        ):
            continue
        if entry.amplifies:
            amplifiers.append((entry, phrase))
            continue
        level = entry.level
        if entry.needs_victim and not (first_person or specific) and level > CONCERN:
            # A bare word ("xâm hại") with no victim or actor: a worry at most, and nothing when
            # the classifier is sure the message is a question or small talk.
            level = NONE if intent not in TYPICAL_LEVEL and confidence >= BARE_WORD_QUESTION else CONCERN
            if level == NONE:
                signals.append(f"damp:bare_word:{entry.category}:{phrase}")
                continue
        if level < IMMINENT and (
            lex.negation_re.search(masked[: match.start()]) or _NEGATED_VICTIM_RE.search(match.group(0))
        ):
            # "em không bị ai đánh cả": a denial, not a disclosure.
            signals.append(f"damp:negation:{entry.category}:{phrase}")
            continue
        if (
            framed_by is not None
            and not entry.ignores_framing
            and not (entry.ignores_hypothetical and hypothetical_only)
        ):
            signals.append(f"damp:general:{entry.category}:{phrase}")
            continue
        if joke is not None and entry.topic in JOKE_DAMPS and level < IMMINENT:
            signals.append(f"damp:joke:{entry.category}:{phrase}")
            continue
        signals.append(f"lex:{entry.category}:{phrase}")
        lexical.append(_Candidate(level, entry.topic, "lex", entry.generic))

    # --- a disclosure intent whose message names a serious harm (labour, injury, images) counts
    # at least at the floor's level, and is not lowered as a third-party report
    for floor in lex.intent_floors:
        sure = (intent == floor.intent and confidence >= TOP_TYPICAL) or any(
            name == floor.intent and probability >= SECOND_TYPICAL for name, probability in (ranking or [])[:3]
        )
        if not sure or framed_by is not None or (joke is not None and floor.intent in JOKE_DAMPS):
            continue
        match = floor.regex.search(masked)
        if match and not lex.negation_re.search(masked[: match.start()]):
            signals.append(f"floor:{floor.intent}:{match.group(0).strip()}")
            lexical.append(_Candidate(floor.level, floor.intent, "floor"))

    # --- dampers on the classifier's reading
    strong_lexical = any(c.level >= HIGH for c in lexical)
    for cand in candidates:
        if framed_by is not None and not strong_lexical:
            cap = CONCERN if confidence >= FRAMED_INTENT_CONCERN and cand.topic == intent else NONE
            cand.level = min(cand.level, cap)
        if hyperbole and not lexical:
            cap = CONCERN if confidence >= HYPERBOLE_INTENT_CONCERN and cand.topic == intent else NONE
            cand.level = min(cand.level, cap)
        elif hyperbole and not strong_lexical:
            cand.level = min(cand.level, CONCERN)
        if joke is not None and not strong_lexical and cand.topic in JOKE_DAMPS:
            cand.level = min(cand.level, CONCERN if confidence >= HYPERBOLE_INTENT_CONCERN else NONE)
    if framed_by is not None:
        signals.append(f"damp:general:{framed_by.group(0).strip()}")
    candidates.extend(lexical)

    # --- amplifiers lift a signal that is already there by one step, to the entry's level:
    # injury words lift violence to high, a means at hand lifts suicidal talk to imminent.
    for entry, phrase in amplifiers:
        lowest = max(CONCERN, entry.level - 1)
        lifted = [
            c
            for c in candidates
            if c.topic in entry.amplifies and c.level >= lowest and not (joke is not None and c.topic in JOKE_DAMPS)
        ]
        if lifted and framed_by is None:
            signals.append(f"lex:{entry.category}:{phrase}")
            candidates.append(_Candidate(entry.level, lifted[0].topic, "lex"))

    # --- emoji: a method beside words of harm is worse than either alone
    tokens = set(masked.split())
    for em in lex.emoji:
        if em.emoji not in tokens:
            continue
        boosted = any(c.topic in em.boosts and c.level >= CONCERN for c in candidates)
        level = em.with_level if boosted else em.alone
        if framed_by is not None and not boosted:
            level = NONE
        if level > NONE:
            candidates.append(_Candidate(level, em.topic, "emoji"))
            signals.append(f"emoji:{em.emoji}")

    if past_over:
        signals.append(f"damp:past_over:{past_over.group(0).strip()}")
        for cand in candidates:
            if cand.level == HIGH:
                cand.level = CONCERN

    # --- third party: another child is harmed
    confident_self_disclosure = (
        intent in TYPICAL_LEVEL and intent != "report_third_party" and confidence >= SELF_DISCLOSURE_OVER_THIRD_PARTY
    )
    third_party = (intent == "report_third_party" and confidence >= TOP_CONCERN) or (
        third_party_match is not None and not confident_self_disclosure
    )
    if third_party:
        if third_party_match is not None:
            signals.append(f"third_party:{third_party_match.group(0).strip()}")
        for cand in candidates:
            if cand.source == "intent" and cand.level == HIGH and cand.topic not in THIRD_PARTY_HIGH_TOPICS:
                cand.level = CONCERN

    candidates = [c for c in candidates if c.level > NONE]

    # --- right now: a disclosure beside a present-time marker or a present danger is imminent
    if candidates and past_over is None and (framed_by is None or strong_lexical) and (joke is None or strong_lexical):
        _lift_urgent(lex, urgency_text, candidates, signals)

    if not candidates:
        return RiskAssessment("none", None, signals)
    top = max(c.level for c in candidates)
    leaders = [c for c in candidates if c.level == top]
    # The category names the topic behind the level: a specific topic over a bare cry for help,
    # the classifier's topic over the lexicon's when both agree on the level.
    leaders.sort(key=lambda c: (c.generic, c.source != "intent", c.source == "emoji"))
    category = "report_third_party" if third_party else leaders[0].topic
    return RiskAssessment(LEVELS[top], category, signals)
