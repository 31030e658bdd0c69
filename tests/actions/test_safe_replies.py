"""What the actions really send, read against the writing rules: no reply to a high or imminent message
asks whether the child wants a counselor; no imminent reply advises shouting or confronting; every
reply's first bubble is short; a fallback always gives 111."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from actions.replies import DISCLOSURE_RESPONSES, TOPIC_RESPONSES, Turn, plan_reply  # noqa: E402
from api.content import safe_words  # noqa: E402

CATEGORIES = [None, *DISCLOSURE_RESPONSES]
INTENTS = [*TOPIC_RESPONSES, *DISCLOSURE_RESPONSES, "nlu_fallback"]


@pytest.fixture(scope="module")
def responses() -> dict[str, list[dict]]:
    with (ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["responses"]


def _replies(level: str):
    for intent in INTENTS:
        for category in CATEGORIES:
            for offered in (False, True):
                turn = Turn(intent=intent, confidence=0.9, risk={"level": level, "category": category},
                            counselor_offered=offered)
                yield (intent, category, offered), plan_reply(turn)


@pytest.mark.parametrize("level", ["high", "imminent"])
def test_no_reply_to_a_high_or_imminent_message_asks_about_a_counselor(responses, level):
    for case, reply in _replies(level):
        assert reply.escalate, case
        assert not reply.counselor_offered, case
        for name in reply.responses:
            for variation in responses[name]:
                assert not safe_words.asks_about_counselor(variation["text"], variation.get("buttons") or []), (
                    f"{case}: {name} asks about a counselor")


def test_every_high_or_imminent_reply_says_a_counselor_was_told():
    for level in ("high", "imminent"):
        for case, reply in _replies(level):
            assert reply.responses[-1] == "utter_counselor_told", case


def test_no_imminent_reply_tells_the_child_to_shout_or_confront(responses):
    for case, reply in _replies("imminent"):
        for name in reply.responses:
            for variation in responses[name]:
                assert safe_words.provoking_advice(variation["text"]) == [], f"{case}: {name}"


def test_the_first_bubble_of_an_imminent_reply_is_short_with_every_number(responses):
    for case, reply in _replies("imminent"):
        first = reply.responses[0]
        assert first in safe_words.CRISIS_FIRST_RESPONSES, case
        for variation in responses[first]:
            text = variation["text"]
            assert safe_words.syllables(text) <= safe_words.CRISIS_FIRST_MAX_SYLLABLES, text
            for number in ("111", "113", "115"):
                assert number in text, f"{first} lacks {number}"


def test_a_fallback_reply_always_gives_111(responses):
    for count in (0, 1):
        reply = plan_reply(Turn(intent="nlu_fallback", confidence=0.2, risk={"level": "none"},
                                fallback_count=count))
        for name in reply.responses:
            for variation in responses[name]:
                assert safe_words.HOTLINE.search(variation["text"]), name


def test_the_counselor_question_comes_only_at_concern_level():
    for case, reply in _replies("concern"):
        if "utter_offer_counselor" in reply.responses:
            assert not reply.escalate and reply.counselor_offered, case
        else:
            assert reply.escalate and reply.responses[-1] == "utter_counselor_told", case
