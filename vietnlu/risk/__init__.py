"""The rule-based risk engine: the classifier's disclosure intents combined with the risk lexicon.

Pure Python (no Rasa import), so the Rasa component, the gateway and the tests share it.

    lexicon = RiskLexicon.load()                       # data/lexicon/risk.yml, compiled once
    risk = assess("chú em hay sờ chỗ kín em", "disclose_sexual_abuse", 0.91, lexicon=lexicon)
    risk.as_dict()  # {"level": "high", "category": "disclose_sexual_abuse", "signals": [...]}

- `levels`: the levels, the disclosure topics and the confidence thresholds;
- `patterns`: the pattern language of the lexicon, compiled to regexes;
- `lexicon`: the risk lexicon file, loaded and compiled (`RiskLexicon`);
- `rules`: `assess`, one message to a level, a category and its signals (how the level is
  reached is told there).

Everything public is re-exported here: `from vietnlu.risk import assess, RiskLexicon, LEVELS`.
"""

from vietnlu.risk.levels import (
    BARE_WORD_QUESTION,
    CONCERN,
    DISCLOSURE_TOPICS,
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
from vietnlu.risk.lexicon import (
    DEFAULT_RISK_LEXICON_PATH,
    EmojiEntry,
    IntentFloor,
    MarkerSet,
    RiskEntry,
    RiskLexicon,
    load_default_risk_lexicon,
)
from vietnlu.risk.patterns import DEFAULT_GAP, NUMBER_REGEX
from vietnlu.risk.rules import RiskAssessment, assess

__all__ = [
    "BARE_WORD_QUESTION",
    "CONCERN",
    "DEFAULT_GAP",
    "DEFAULT_RISK_LEXICON_PATH",
    "DISCLOSURE_TOPICS",
    "FRAMED_INTENT_CONCERN",
    "HIGH",
    "HYPERBOLE_INTENT_CONCERN",
    "IMMINENT",
    "JOKE_DAMPS",
    "LEVELS",
    "NONE",
    "NUMBER_REGEX",
    "SECOND_CONCERN",
    "SECOND_TYPICAL",
    "SELF_DISCLOSURE_OVER_THIRD_PARTY",
    "THIRD_PARTY_HIGH_TOPICS",
    "TIME_LIFTS_CONCERN",
    "TOP_CONCERN",
    "TOP_TYPICAL",
    "TYPICAL_LEVEL",
    "URGENT_INTENT",
    "EmojiEntry",
    "IntentFloor",
    "MarkerSet",
    "RiskAssessment",
    "RiskEntry",
    "RiskLexicon",
    "assess",
    "load_default_risk_lexicon",
]
