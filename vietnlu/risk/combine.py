"""One reading from two: the learned model's and the rules' (classifier intents + lexicon).

The model reads the whole message; the rules are the floor. The final level is the higher of
the two, with documented exceptions about words of harm that are not a child being harmed:

A high or imminent reading of the rules counts as concern when the model reads, at `CLEAR_MODEL`
or more, that nothing harmful is said (P(none)) and either
- that the message is a story, a game, a joke, hyperbole or a general question (who = story or
  general, at `CLEAR_MODEL` or more): a keyword in "boss đánh em bầm dập, chết 40 lần" or "thấy trẻ
  bị bắt cóc thì gọi 113 hay 111" is read as concern; or
- for a high reading of the rules (never an imminent one, never one lifted by a "right now"
  marker), that there is no harm at all (its own level is none) and that the harm the words name
  is over or only imagined (when = over or hypothetical): "hồi lớp 2 em bị té gãy tay, giờ khỏe re".
  Harm that is over is concern at most under the label contract.
The reply still offers a counselor. Never for a cry for help or an emergency emoji ("cứu em",
"sos", 🆘): those stand whatever the model reads. "About nobody" (who = none) and "no time"
(when = none) do not count: the model also says so of words it has never seen, so a message it
misses keeps the rules' reading. The figures are in docs/risk.md.

A second exception, for the model's own weak readings ("two keys"): a high or imminent reading of
the model counts as concern when the rules read no harm at all and the model's probability of
high or more is under `LONE_MODEL_MIN`. The model's thresholds are set for recall (P(high or more)
of 0.03 is enough for high), so a reading that faint with nothing else behind it is mostly a
harmless message with words of harm in it: on the dev set and twelve blind sets this removed 40 of
155 false alarms and not one high or imminent message; on two fresh sets 6 of 40, and one imminent
message of 180 was read as concern (docs/risk.md). The reply still offers a counselor and 111, and
a concern case is logged; it goes to the counselors at once if a later message, or the
conversation read together, says more.

A third key, the topic: a high or imminent reading of the model counts as concern when the rules
read no more than concern, the topic classifiers read the message as something other than a
disclosure (small talk, a question, conversation) with a confidence of `TOPIC_KEY_CONFIDENCE` or
more, and the model's probability of high or more is under `TOPIC_KEY_MODEL_MIN`. The topic
classifiers (DIET and the linear topic model) are a second opinion on what the message is about:
they read 152 of the 229 harmless messages read as high or more over twenty-two blind sets as
small talk, a question or conversation, not as a disclosure. Over those sets this removed 34 of
the 229 false alarms at 0.3, and one imminent message of 1,785 was read as concern (docs/risk.md,
"The topic as a third key"). With the hard negatives and topic borders of the next release the
model reads more messages high or more, faintly, and 0.4 removed 15 more false alarms over
twenty-four blind sets than 0.3 and no high or imminent message (docs/risk.md, "Hard negatives and
topic borders").

The topic is also a key on the rules' own high readings of bare words: a high reading of the
rules counts as concern when the model reads no more than concern and the topic classifiers read
the message as no disclosure with a confidence of `TOPIC_KEY_CONFIDENCE` or more. It never touches
an imminent reading of the rules, nor one that anything else backs: a cry for help, an emergency
emoji, a "right now" marker, a serious-topic floor, the classifier's own disclosure intent (first
or second), or the lexicon's words of self-harm or sexual abuse, which stand as said. What is left
is words of violence, danger, neglect or bullying that neither the model nor the topic
classifiers read as a child being harmed: games, films, news, safe scenes. Figures in docs/risk.md
("Hard negatives and topic borders").

Otherwise the rules never lower the model's reading. Their own dampers (hyperbole, stories, general
questions, denials) act inside the rules only: applied to the model as well they cost recall
on the blind sets and saved no false alarm (docs/risk.md).
"""

from __future__ import annotations

from vietnlu.risk.levels import CONCERN, DISCLOSURE_TOPICS, LEVELS
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
# At or above this probability of "none" and of a story or general reading, the rules' high or
# imminent counts as concern: more likely than not. 0.7 until this release; 0.5 and 0.4 lost no high
# or imminent message on thirteen sets and removed more false alarms, 0.3 lost one (docs/risk.md).
CLEAR_MODEL = 0.5
NOT_ABOUT_A_CHILD = ("story", "general")
# The model's `when` readings of harm that is over or only imagined. "none" is not one of them: the
# model also says so of words it has never seen.
HARM_NOT_GOING_ON = ("over", "hypothetical")
# Under this probability of high or more, a model reading of high or imminent that the rules do
# not back at all counts as concern (the "two keys" rule above).
LONE_MODEL_MIN = 0.1
# A model reading of high or more that the rules do not back, of a message the topic classifiers
# read as no disclosure at this confidence or more, needs this probability of high or more.
TOPIC_KEY_CONFIDENCE = 0.5
TOPIC_KEY_MODEL_MIN = 0.4
# Rule signals that always stand: cries for help and emergency emoji.
ALWAYS_STAND = ("lex:immediate_danger:", "emoji:")
# Rule signals that keep a high reading of the rules from the topic key: those, "right now", the
# serious-topic floors, the classifier's disclosure intents, and words of self-harm or sexual abuse.
RULES_KEEP_HIGH = ALWAYS_STAND + ("urgent:", "floor:", "intent:", "intent2:", "lex:self_harm:", "lex:sexual_abuse:")


def _clearly_no_harm(rule: RiskAssessment, reading: ModelReading) -> bool:
    if any(signal.startswith(ALWAYS_STAND) for signal in rule.signals):
        return False
    if reading.probabilities.get("none", 0.0) < CLEAR_MODEL:
        return False
    not_about_a_child = sum(reading.who.get(name, 0.0) for name in NOT_ABOUT_A_CHILD)
    if not_about_a_child >= CLEAR_MODEL:
        return True
    return (
        rule.level == "high"  # an imminent reading of the rules stands
        and reading.level == "none"
        and reading.factors.get("when") in HARM_NOT_GOING_ON
        and not any(signal.startswith("urgent:") for signal in rule.signals)
    )


def _high_or_more(reading: ModelReading) -> float:
    return reading.probabilities.get("high", 0.0) + reading.probabilities.get("imminent", 0.0)


def _category(rule: RiskAssessment, reading: ModelReading, from_model: bool) -> str | None:
    if not from_model and rule.category:
        return rule.category
    if reading.factors.get("who") == "other_child":
        return "report_third_party"
    return HARM_TOPICS.get(reading.factors.get("harm", "none")) or rule.category


def read_as_no_disclosure(topic: tuple[str, float] | None, at_least: float = TOPIC_KEY_CONFIDENCE) -> bool:
    """Whether the topic classifiers read the message, sure enough, as no disclosure."""
    if topic is None:
        return False
    name, confidence = topic
    return name not in DISCLOSURE_TOPICS and name != "nlu_fallback" and confidence >= at_least


def _rules_unbacked(rule: RiskAssessment, reading: ModelReading, topic: tuple[str, float] | None) -> bool:
    """Whether a high reading of the rules is bare words that neither the model nor the topic backs."""
    return (rule.level == "high" and LEVELS.index(reading.level) <= CONCERN and read_as_no_disclosure(topic)
            and not any(signal.startswith(RULES_KEEP_HIGH) for signal in rule.signals))


def combine(rule: RiskAssessment, reading: ModelReading | None, *,
            lone_model_min: float | None = None, topic: tuple[str, float] | None = None) -> RiskAssessment:
    """The higher of the two readings (the rules damped as above), with both sets of signals.

    `lone_model_min` 0 turns the two-keys rule off: for rules that cannot back a reading with the
    classifier's intents (the gateway's reading while Rasa is down); None is `LONE_MODEL_MIN`.
    `topic` is the topic classifiers' reading (name, confidence), for the topic key; None leaves it
    out (the gateway has no topic classifier)."""
    if reading is None:
        return rule
    rule_level = LEVELS.index(rule.level)
    signals = list(rule.signals) + reading.signals()
    if rule_level > CONCERN and _clearly_no_harm(rule, reading):
        rule_level = CONCERN
        signals.append("damp:model:no_harm")
    elif rule_level > CONCERN and _rules_unbacked(rule, reading, topic):
        rule_level = CONCERN
        signals.append("damp:rules:topic")
    model_level = LEVELS.index(reading.level)
    minimum = LONE_MODEL_MIN if lone_model_min is None else lone_model_min
    if model_level > CONCERN and rule.level == "none" and _high_or_more(reading) < minimum:
        model_level = CONCERN
        signals.append("damp:model:unbacked")
    if (model_level > CONCERN and LEVELS.index(rule.level) <= CONCERN and read_as_no_disclosure(topic)
            and _high_or_more(reading) < TOPIC_KEY_MODEL_MIN):
        model_level = CONCERN
        signals.append("damp:model:topic")
    level = max(rule_level, model_level)
    if level == 0:
        return RiskAssessment("none", None, signals)
    return RiskAssessment(LEVELS[level], _category(rule, reading, model_level > rule_level), signals)
