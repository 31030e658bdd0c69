"""One reading from two: the learned model's and the rules' (classifier intents + lexicon).

The model reads the whole message; the rules are the floor. The final level is the higher of
the two, except where the rules recognised, with a documented marker of the risk lexicon, that
the words of harm are not about a child being harmed:

- hyperbole ("mệt muốn chết", "cười xỉu") was blanked and nothing of harm was left;
- a story, a film or the news retold ("trên báo có vụ ..."), or a general question with no
  named victim ("làm sao biết trẻ bị xâm hại");
- a denial of the harm ("em không bị ai đánh").

Then the model's reading counts at most as concern, unless it is sure (`SURE_MODEL`), because
a message can carry both ("đọc báo xong em nhớ lại chú em cũng làm vậy với em").
"""

from __future__ import annotations

from vietnlu.risk.levels import CONCERN, LEVELS
from vietnlu.risk.model import ModelReading
from vietnlu.risk.rules import RiskAssessment

# The model's harm factor → the disclosure topic that names it in a case.
HARM_TOPICS = {
    "sexual": "disclose_sexual_abuse",
    "physical": "disclose_physical_abuse",
    "online": "disclose_online_abuse",
    "bullying": "disclose_bullying",
    "neglect": "disclose_neglect",
    "self_harm": "disclose_self_harm",
}
# The rules' signals that say the words of harm are not a child being harmed (see above).
NOT_HARM_SIGNALS = ("damp:hyperbole:", "damp:story", "damp:general", "damp:negation:")
# At or above this probability of its level the model is not capped by those markers.
SURE_MODEL = 0.8


def _not_harm(rule: RiskAssessment) -> bool:
    return any(signal.startswith(NOT_HARM_SIGNALS) for signal in rule.signals)


def _model_level(rule: RiskAssessment, reading: ModelReading) -> int:
    level = LEVELS.index(reading.level)
    if level > CONCERN and _not_harm(rule) and reading.probabilities.get(reading.level, 0.0) < SURE_MODEL:
        return CONCERN
    return level


def _category(rule: RiskAssessment, reading: ModelReading, from_model: bool) -> str | None:
    if not from_model and rule.category:
        return rule.category
    if reading.factors.get("who") == "other_child":
        return "report_third_party"
    return HARM_TOPICS.get(reading.factors.get("harm", "none")) or rule.category


def combine(rule: RiskAssessment, reading: ModelReading | None) -> RiskAssessment:
    """The higher of the two readings (the model's damped as above), with both sets of signals."""
    if reading is None:
        return rule
    rule_level = LEVELS.index(rule.level)
    model_level = _model_level(rule, reading)
    level = max(rule_level, model_level)
    signals = list(rule.signals) + reading.signals()
    if level == 0:
        return RiskAssessment("none", None, signals)
    return RiskAssessment(LEVELS[level], _category(rule, reading, model_level > rule_level), signals)
