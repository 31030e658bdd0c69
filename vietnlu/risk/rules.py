"""Risk on one message: the classifier's disclosure intents combined with the risk lexicon.

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

`assess` reads the message once (`_Message`: masked text, framing, joke, harm over, third-party
wording), then runs one function per step in this order: the classifier's candidates, lexical
hits, intent floors, dampers on the classifier, amplifiers, emoji, harm over, third party,
urgency, and the final choice. Every step appends its signals in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vietnlu.lexicon import Lexicon
from vietnlu.risk.levels import (
    BARE_WORD_QUESTION,
    CONCERN,
    FRAMED_INTENT_CONCERN,
    HIGH,
    HYPERBOLE_INTENT_CONCERN,
    IMMINENT,
    JOKE_DAMPS,
    LEVELS,
    NONE,
    SECOND_CONCERN,
    SECOND_TYPICAL,
    SELF_DISCLOSURE_OVER_THIRD_PARTY,
    THIRD_PARTY_HIGH_TOPICS,
    TIME_LIFTS_CONCERN,
    TOP_CONCERN,
    TOP_TYPICAL,
    TYPICAL_LEVEL,
    URGENT_INTENT,
)
from vietnlu.risk.lexicon import MarkerSet, RiskEntry, RiskLexicon, load_default_risk_lexicon


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


# --------------------------------------------------------------------------- the message


_MASK_RE = re.compile(r"\S+")


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


@dataclass
class _Message:
    """One message as the rules see it, read once before any signal is weighed."""

    intent: str | None
    confidence: float
    ranking: list[tuple[str, float]] | None
    masked: str  # normalised, padded with spaces, hyperbole and everyday phrases blanked
    urgency_text: str  # the same with not-urgent phrases blanked, for the right-now markers
    hyperbole: bool
    first_person: bool  # the writer, or a child, named as the victim
    specific: bool  # a specific child or a real event named
    framed_by: re.Match[str] | None  # a general, hypothetical or story framing
    hypothetical_only: bool  # the framing is a hypothetical ("nếu ...")
    third_party_match: re.Match[str] | None
    joke: re.Match[str] | None  # a guessed punishment beside a laugh
    past_over: re.Match[str] | None
    signals: list[str]


def _padded(lex: RiskLexicon, text: str, text_lexicon: Lexicon | None) -> str:
    """The normalised message with synonyms replaced and compounds joined, between spaces."""
    normalised = (text_lexicon or lex.text_lexicon).normalise(text or "")
    if lex.synonyms:
        normalised = " ".join(lex.synonyms.get(token, token) for token in normalised.split())
    return lex.compounds.join(f" {normalised} ")


def _framing(
    lex: RiskLexicon,
    masked: str,
    urgency_text: str,
    *,
    first_person: bool,
    specific: bool,
    event: bool,
    third_party_match: re.Match[str] | None,
    signals: list[str],
) -> tuple[re.Match[str] | None, bool]:
    """The general question, hypothetical or story that frames the message, if any.

    A hypothetical ("nếu") is undone only by a real event (an actor, a time, a threat); a general
    framing ("là gì", "dấu hiệu") also by a specific child; a weak one ("thì phải làm sao") also
    by a plain "em bị". A question about the writer's own situation ("em có nên kể không nếu
    người làm chuyện đó với em là ba") is a disclosure asked as a question: no framing damps it.
    """
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
    return framed_by, hypothetical_only


def _joke(
    lex: RiskLexicon, text: str, masked: str, framed_by: re.Match[str] | None, signals: list[str]
) -> re.Match[str] | None:
    """A laugh beside a guessed punishment ("chắc ba đập tui chết quá 🤣"). Real harm told with a
    laugh ("hôm qua bị đánh chảy máu haha") has no guess and is not damped."""
    joke = None
    laugh = _laughs(text, lex.laughs) if lex.laughs else None
    if framed_by is None and laugh is not None:
        joke = lex.joke_context.first(masked)
        if joke is not None:
            signals.append(f"damp:joke:{laugh}:{joke.group(0).strip()}")
    return joke


def _read_message(
    lex: RiskLexicon,
    text: str,
    intent: str | None,
    confidence: float,
    ranking: list[tuple[str, float]] | None,
    text_lexicon: Lexicon | None,
) -> _Message:
    signals: list[str] = []
    padded = _padded(lex, text, text_lexicon)
    masked = _mask(padded, lex.hyperbole, signals)
    hyperbole = masked != padded
    # Right-now markers are looked for after the not-urgent phrases are blanked, before the
    # everyday phrases are ("còn sợ" must still read as a feeling, not be blanked as "con số").
    urgency_text = _mask(_mask(masked, lex.not_urgent, signals), lex.everyday, [])
    masked = _mask(masked, lex.everyday, signals)
    first_person = lex.victim_first_person.first(masked) is not None
    event = lex.victim_event.first(masked) is not None
    specific = event or lex.victim_specific.first(masked) is not None
    third_party_match = lex.third_party.first(masked)
    framed_by, hypothetical_only = _framing(
        lex,
        masked,
        urgency_text,
        first_person=first_person,
        specific=specific,
        event=event,
        third_party_match=third_party_match,
        signals=signals,
    )
    joke = _joke(lex, text, masked, framed_by, signals)
    return _Message(
        intent=intent,
        confidence=confidence,
        ranking=ranking,
        masked=masked,
        urgency_text=urgency_text,
        hyperbole=hyperbole,
        first_person=first_person,
        specific=specific,
        framed_by=framed_by,
        hypothetical_only=hypothetical_only,
        third_party_match=third_party_match,
        joke=joke,
        past_over=_past_over(lex, masked),
        signals=signals,
    )


# --------------------------------------------------------------------------- the steps


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


def _weigh_entry(lex: RiskLexicon, msg: _Message, entry: RiskEntry, match: re.Match[str]) -> tuple[int, str | None]:
    """The level a matched entry counts at, and the damper that drops it (None: it counts)."""
    level = entry.level
    if entry.needs_victim and not (msg.first_person or msg.specific) and level > CONCERN:
        # A bare word ("xâm hại") with no victim or actor: a worry at most, and nothing when
        # the classifier is sure the message is a question or small talk.
        level = NONE if msg.intent not in TYPICAL_LEVEL and msg.confidence >= BARE_WORD_QUESTION else CONCERN
        if level == NONE:
            return level, "bare_word"
    if level < IMMINENT and (
        lex.negation_re.search(msg.masked[: match.start()]) or _NEGATED_VICTIM_RE.search(match.group(0))
    ):
        # "em không bị ai đánh cả": a denial, not a disclosure.
        return level, "negation"
    if (
        msg.framed_by is not None
        and not entry.ignores_framing
        and not (entry.ignores_hypothetical and msg.hypothetical_only)
    ):
        return level, "general"
    if msg.joke is not None and entry.topic in JOKE_DAMPS and level < IMMINENT:
        return level, "joke"
    return level, None


def _lexical_hits(lex: RiskLexicon, msg: _Message) -> tuple[list[_Candidate], list[tuple[RiskEntry, str]]]:
    """Every lexicon entry that matches and is not damped; amplifiers are kept aside with their phrase."""
    lexical: list[_Candidate] = []
    amplifiers: list[tuple[RiskEntry, str]] = []
    for entry in lex.entries:
        match = entry.regex.search(msg.masked)
        if not match:
            continue
        phrase = match.group(0).strip()
        if (entry.requires is not None and not entry.requires.search(msg.masked)) or (
            entry.unless is not None and entry.unless.search(msg.masked)
        ):
            continue
        if entry.amplifies:
            amplifiers.append((entry, phrase))
            continue
        level, damper = _weigh_entry(lex, msg, entry, match)
        if damper is not None:
            msg.signals.append(f"damp:{damper}:{entry.category}:{phrase}")
            continue
        msg.signals.append(f"lex:{entry.category}:{phrase}")
        lexical.append(_Candidate(level, entry.topic, "lex", entry.generic))
    return lexical, amplifiers


def _intent_floor_hits(lex: RiskLexicon, msg: _Message) -> list[_Candidate]:
    """A disclosure intent whose message names a serious harm (labour, injury, images) counts at
    least at the floor's level, and is not lowered as a third-party report."""
    found: list[_Candidate] = []
    for floor in lex.intent_floors:
        sure = (msg.intent == floor.intent and msg.confidence >= TOP_TYPICAL) or any(
            name == floor.intent and probability >= SECOND_TYPICAL for name, probability in (msg.ranking or [])[:3]
        )
        if not sure or msg.framed_by is not None or (msg.joke is not None and floor.intent in JOKE_DAMPS):
            continue
        match = floor.regex.search(msg.masked)
        if match and not lex.negation_re.search(msg.masked[: match.start()]):
            msg.signals.append(f"floor:{floor.intent}:{match.group(0).strip()}")
            found.append(_Candidate(floor.level, floor.intent, "floor"))
    return found


def _damp_classifier(msg: _Message, candidates: list[_Candidate], lexical: list[_Candidate], strong: bool) -> None:
    """Lower the classifier's reading of a framed question, hyperbole or a joke; `strong`: a lexical
    hit at high or above, which keeps the reading."""
    for cand in candidates:
        if msg.framed_by is not None and not strong:
            cap = CONCERN if msg.confidence >= FRAMED_INTENT_CONCERN and cand.topic == msg.intent else NONE
            cand.level = min(cand.level, cap)
        if msg.hyperbole and not lexical:
            cap = CONCERN if msg.confidence >= HYPERBOLE_INTENT_CONCERN and cand.topic == msg.intent else NONE
            cand.level = min(cand.level, cap)
        elif msg.hyperbole and not strong:
            cand.level = min(cand.level, CONCERN)
        if msg.joke is not None and not strong and cand.topic in JOKE_DAMPS:
            cand.level = min(cand.level, CONCERN if msg.confidence >= HYPERBOLE_INTENT_CONCERN else NONE)
    if msg.framed_by is not None:
        msg.signals.append(f"damp:general:{msg.framed_by.group(0).strip()}")


def _amplify(msg: _Message, amplifiers: list[tuple[RiskEntry, str]], candidates: list[_Candidate]) -> None:
    """Amplifiers lift a signal that is already there by one step, to the entry's level: injury
    words lift violence to high, a means at hand lifts suicidal talk to imminent."""
    for entry, phrase in amplifiers:
        lowest = max(CONCERN, entry.level - 1)
        lifted = [
            c
            for c in candidates
            if c.topic in entry.amplifies and c.level >= lowest and not (msg.joke is not None and c.topic in JOKE_DAMPS)
        ]
        if lifted and msg.framed_by is None:
            msg.signals.append(f"lex:{entry.category}:{phrase}")
            candidates.append(_Candidate(entry.level, lifted[0].topic, "lex"))


def _add_emoji(lex: RiskLexicon, msg: _Message, candidates: list[_Candidate]) -> None:
    """Emoji: a method beside words of harm is worse than either alone."""
    tokens = set(msg.masked.split())
    for em in lex.emoji:
        if em.emoji not in tokens:
            continue
        boosted = any(c.topic in em.boosts and c.level >= CONCERN for c in candidates)
        level = em.with_level if boosted else em.alone
        if msg.framed_by is not None and not boosted:
            level = NONE
        if level > NONE:
            candidates.append(_Candidate(level, em.topic, "emoji"))
            msg.signals.append(f"emoji:{em.emoji}")


def _damp_past_over(msg: _Message, candidates: list[_Candidate]) -> None:
    """Harm that is clearly over keeps high at concern."""
    if msg.past_over:
        msg.signals.append(f"damp:past_over:{msg.past_over.group(0).strip()}")
        for cand in candidates:
            if cand.level == HIGH:
                cand.level = CONCERN


def _third_party(msg: _Message, candidates: list[_Candidate]) -> bool:
    """Whether another child is harmed; the classifier's high reading is then concern, except for
    harm that is high for any child (THIRD_PARTY_HIGH_TOPICS)."""
    confident_self_disclosure = (
        msg.intent in TYPICAL_LEVEL
        and msg.intent != "report_third_party"
        and msg.confidence >= SELF_DISCLOSURE_OVER_THIRD_PARTY
    )
    third_party = (msg.intent == "report_third_party" and msg.confidence >= TOP_CONCERN) or (
        msg.third_party_match is not None and not confident_self_disclosure
    )
    if third_party:
        if msg.third_party_match is not None:
            msg.signals.append(f"third_party:{msg.third_party_match.group(0).strip()}")
        for cand in candidates:
            if cand.source == "intent" and cand.level == HIGH and cand.topic not in THIRD_PARTY_HIGH_TOPICS:
                cand.level = CONCERN
    return third_party


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


def _right_now(lex: RiskLexicon, msg: _Message, candidates: list[_Candidate], strong: bool) -> None:
    """A disclosure beside a present-time marker or a present danger is imminent, unless the harm
    is over, or the message is framed or a joke with no strong lexical hit."""
    if candidates and msg.past_over is None and (msg.framed_by is None or strong) and (msg.joke is None or strong):
        _lift_urgent(lex, msg.urgency_text, candidates, msg.signals)


def _verdict(candidates: list[_Candidate], third_party: bool, signals: list[str]) -> RiskAssessment:
    """The highest level wins; the category names the topic behind it: a specific topic over a bare
    cry for help, the classifier's topic over the lexicon's when both agree on the level."""
    if not candidates:
        return RiskAssessment("none", None, signals)
    top = max(c.level for c in candidates)
    leaders = [c for c in candidates if c.level == top]
    leaders.sort(key=lambda c: (c.generic, c.source != "intent", c.source == "emoji"))
    category = "report_third_party" if third_party else leaders[0].topic
    return RiskAssessment(LEVELS[top], category, signals)


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
    msg = _read_message(lex, text, intent, float(confidence or 0.0), ranking, text_lexicon)
    candidates = _intent_candidates(msg.intent, msg.confidence, msg.ranking, msg.signals)
    lexical, amplifiers = _lexical_hits(lex, msg)
    lexical.extend(_intent_floor_hits(lex, msg))
    strong_lexical = any(c.level >= HIGH for c in lexical)
    _damp_classifier(msg, candidates, lexical, strong_lexical)
    candidates.extend(lexical)
    _amplify(msg, amplifiers, candidates)
    _add_emoji(lex, msg, candidates)
    _damp_past_over(msg, candidates)
    third_party = _third_party(msg, candidates)
    candidates = [c for c in candidates if c.level > NONE]
    _right_now(lex, msg, candidates, strong_lexical)
    return _verdict(candidates, third_party, msg.signals)
