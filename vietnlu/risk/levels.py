"""Risk levels, the disclosure topics, and the thresholds the rules compare against.

`RiskLevel` is the one spelling of the levels for the whole project: the rules and the model here,
the actions (actions/replies.py) and the gateway (api/messaging/risk.py) all use it.
"""

from __future__ import annotations

from enum import Enum

try:  # Python 3.11+: the gateway
    from enum import StrEnum
except ImportError:  # Python 3.10: Rasa 3.6 and the action server

    class StrEnum(str, Enum):  # type: ignore[no-redef]
        def __str__(self) -> str:
            return str(self.value)


class RiskLevel(StrEnum):
    """The risk of a message, lowest first. Members are strings ("high" == RiskLevel.HIGH)."""

    NONE = "none"
    CONCERN = "concern"
    HIGH = "high"
    IMMINENT = "imminent"

    @classmethod
    def of(cls, value: object) -> RiskLevel:
        """The level a payload names; anything unknown or missing reads as none."""
        return cls(value) if value in LEVELS else cls.NONE

    @property
    def rank(self) -> int:
        return LEVELS.index(self.value)


LEVELS = tuple(level.value for level in RiskLevel)
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
# Topics a joke can damp: a laugh beside a guessed beating is banter; beside self-harm or sexual
# abuse words it may be nervous laughter, so those still count.
JOKE_DAMPS = {"disclose_physical_abuse", "disclose_bullying", "report_third_party"}
