"""action_answer and action_handle_risk run with rasa-sdk's own tracker and dispatcher and the real domain."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer, ActionHandleRisk
from actions.replies import (
    COUNSELOR_OFFER,
    COUNSELOR_TOLD,
    DEFAULT_CLARIFY_TOPICS,
    DISCLOSURE_RESPONSES,
    FOLLOW_UPS,
    TOPIC_RESPONSES,
    TOPIC_TITLES,
)

ROOT = Path(__file__).resolve().parents[2]

FAQ_TOPICS = [name for name in TOPIC_RESPONSES if name.startswith("ask_")]
DISCLOSURES = list(DISCLOSURE_RESPONSES)
BOTH_ACTIONS = [ActionAnswer, ActionHandleRisk]


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    with (ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _tracker(
    intent: str | None,
    risk: dict[str, Any] | None = None,
    *,
    confidence: float = 0.9,
    ranking: list[tuple[str, float]] | None = None,
    slots: dict[str, Any] | None = None,
    text: str = "…",
) -> Tracker:
    message: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": name, "confidence": value} for name, value in (ranking or [(intent, confidence)])
        ],
        "entities": [],
    }
    if risk is not None:
        message["risk"] = risk
    return Tracker(
        sender_id="web:test",
        slots={"risk_level": None, "risk_category": None, "counselor_offered": None,
               "counselor_requested": None, "fallback_count": None, **(slots or {})},
        latest_message=message,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _risk(level: str, category: str | None = None) -> dict[str, Any]:
    signals = [f"intent:{category}:0.90"] if category else []
    return {"level": level, "category": category, "signals": signals}


def _run(action_class, tracker: Tracker, domain: dict) -> tuple[list[dict], dict[str, Any], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action_class().run(dispatcher, tracker, domain))
    responses = [message for message in dispatcher.messages if message.get("response")]
    payloads = [message["custom"] for message in dispatcher.messages if message.get("custom")]
    assert len(payloads) == 1, "every answer carries exactly one risk payload"
    for message in dispatcher.messages:
        assert message.get("response") or message.get("custom"), f"unexpected message {message}"
    return responses, payloads[0], events


def _names(responses: list[dict]) -> list[str]:
    return [message["response"] for message in responses]


def _slots(events: list[dict]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


# --------------------------------------------------------------------------------- disclosures


@pytest.mark.parametrize("action_class", BOTH_ACTIONS)
@pytest.mark.parametrize("topic", DISCLOSURES)
def test_concern_disclosure_gets_its_reply_and_a_counselor_offer(domain, action_class, topic):
    responses, payload, events = _run(action_class, _tracker(topic, _risk("concern", topic)), domain)
    assert _names(responses) == [DISCLOSURE_RESPONSES[topic], COUNSELOR_OFFER]
    assert payload["type"] == "risk"
    assert (payload["level"], payload["category"], payload["intent"]) == ("concern", topic, topic)
    assert payload["escalate"] is False
    assert payload["signals"] == [f"intent:{topic}:0.90"]
    slots = _slots(events)
    assert slots["counselor_offered"] is True
    assert (slots["risk_level"], slots["risk_category"]) == ("concern", topic)


@pytest.mark.parametrize("action_class", BOTH_ACTIONS)
@pytest.mark.parametrize("topic", DISCLOSURES)
def test_high_disclosure_escalates_and_says_a_counselor_was_told(domain, action_class, topic):
    responses, payload, events = _run(action_class, _tracker(topic, _risk("high", topic)), domain)
    assert _names(responses) == [DISCLOSURE_RESPONSES[topic], COUNSELOR_TOLD]
    assert (payload["level"], payload["category"], payload["escalate"]) == ("high", topic, True)
    assert _slots(events)["risk_level"] == "high"
    # Nothing was asked: a later "không" is not taken as declining a counselor.
    assert _slots(events)["counselor_offered"] is False


@pytest.mark.parametrize("action_class", BOTH_ACTIONS)
@pytest.mark.parametrize("topic", DISCLOSURES)
def test_imminent_reply_comes_first(domain, action_class, topic):
    responses, payload, events = _run(action_class, _tracker(topic, _risk("imminent", topic)), domain)
    if topic == "disclose_self_harm":
        expected = ["utter_imminent_self_harm", "utter_disclosure_self_harm", COUNSELOR_TOLD]
    else:
        expected = ["utter_imminent_safety", "utter_imminent_safety_steps", COUNSELOR_TOLD]
    assert _names(responses) == expected
    assert (payload["level"], payload["category"], payload["escalate"]) == ("imminent", topic, True)
    assert _slots(events)["risk_level"] == "imminent"


def test_disclosure_rated_none_still_gets_the_disclosure_reply(domain):
    responses, payload, _ = _run(ActionHandleRisk, _tracker("disclose_neglect", _risk("none")), domain)
    assert _names(responses) == ["utter_disclosure_neglect", COUNSELOR_OFFER]
    assert payload["level"] == "none" and payload["escalate"] is False


def test_risk_without_a_category_gets_the_general_support_reply(domain):
    responses, payload, _ = _run(ActionAnswer, _tracker("out_of_scope", _risk("imminent")), domain)
    assert _names(responses) == ["utter_imminent_safety", "utter_imminent_safety_steps", COUNSELOR_TOLD]
    assert payload["escalate"] is True and payload["category"] is None


# -------------------------------------------------------------------------- FAQ, conversation


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_faq_without_risk_gets_its_answer(domain, topic):
    responses, payload, events = _run(ActionAnswer, _tracker(topic, _risk("none")), domain)
    assert _names(responses) == [f"utter_{topic}"]
    assert (payload["level"], payload["escalate"], payload["intent"]) == ("none", False, topic)
    assert payload["fallback"] is False
    slots = _slots(events)
    assert slots["counselor_offered"] is False
    assert "risk_level" not in slots


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_faq_with_high_risk_gets_the_disclosure_reply_instead(domain, topic):
    responses, payload, _ = _run(
        ActionAnswer, _tracker(topic, _risk("high", "disclose_sexual_abuse")), domain
    )
    assert _names(responses) == ["utter_disclosure_sexual_abuse", COUNSELOR_TOLD]
    assert f"utter_{topic}" not in _names(responses)
    assert (payload["level"], payload["escalate"], payload["intent"]) == ("high", True, topic)


@pytest.mark.parametrize("topic", ["greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope"])
def test_conversation_topics_get_their_reply(domain, topic):
    responses, payload, _ = _run(ActionAnswer, _tracker(topic, _risk("none")), domain)
    assert _names(responses) == [TOPIC_RESPONSES[topic]]
    assert payload["escalate"] is False


def test_missing_risk_key_is_treated_as_none(domain):
    responses, payload, events = _run(ActionAnswer, _tracker("ask_body_safety", None), domain)
    assert _names(responses) == ["utter_ask_body_safety"]
    assert (payload["level"], payload["category"], payload["signals"]) == ("none", None, [])
    assert payload["escalate"] is False
    assert "risk_level" not in _slots(events)


def test_malformed_risk_is_treated_as_none(domain):
    for risk in ("high", {"level": "extreme"}, {"level": None}):
        responses, payload, _ = _run(ActionAnswer, _tracker("greet", risk), domain)
        assert _names(responses) == ["utter_greet"]
        assert payload["level"] == "none" and payload["escalate"] is False


# ----------------------------------------------------------------------------------- counselor


def test_request_counselor_escalates(domain):
    responses, payload, events = _run(ActionHandleRisk, _tracker("request_counselor", _risk("none")), domain)
    assert _names(responses) == ["utter_request_counselor"]
    assert payload["escalate"] is True and payload["counselor_requested"] is True
    assert _slots(events)["counselor_requested"] is True


def test_request_counselor_with_a_disclosure_escalates_and_counts_as_a_request(domain):
    # "Em bị bạn bắt nạt, cho em nói chuyện với tư vấn viên": concern from the lexicon, but the
    # child asked for a person, which always opens a case.
    tracker = _tracker("request_counselor", _risk("concern", "disclose_bullying"))
    responses, payload, events = _run(ActionHandleRisk, tracker, domain)
    # The child asked: told, never asked back whether they want a counselor.
    assert _names(responses) == ["utter_disclosure_bullying", COUNSELOR_TOLD]
    assert payload["escalate"] is True and payload["counselor_requested"] is True
    assert _slots(events)["counselor_requested"] is True


def test_offer_then_affirm_is_accepted_and_escalates(domain):
    _, _, offer_events = _run(ActionHandleRisk, _tracker("disclose_bullying", _risk("concern", "disclose_bullying")),
                              domain)
    slots = {"risk_level": "concern", **_slots(offer_events)}
    responses, payload, events = _run(ActionAnswer, _tracker("affirm", _risk("none"), slots=slots), domain)
    assert _names(responses) == ["utter_counselor_accepted"]
    assert payload["escalate"] is True and payload["counselor_requested"] is True
    after = _slots(events)
    assert after["counselor_requested"] is True
    assert after["counselor_offered"] is False
    assert "risk_level" not in after  # stays concern


def test_offer_then_affirm_with_more_risk_still_counts_as_accepted(domain):
    slots = {"risk_level": "concern", "counselor_offered": True}
    tracker = _tracker("affirm", _risk("concern", "disclose_bullying"), slots=slots)
    _, payload, events = _run(ActionAnswer, tracker, domain)
    assert payload["escalate"] is True and payload["counselor_requested"] is True
    assert _slots(events)["counselor_requested"] is True


def test_offer_then_deny_is_declined_without_escalation(domain):
    slots = {"risk_level": "concern", "counselor_offered": True}
    responses, payload, events = _run(ActionAnswer, _tracker("deny", _risk("none"), slots=slots), domain)
    assert _names(responses) == ["utter_counselor_declined"]
    assert payload["escalate"] is False and payload["counselor_requested"] is False
    assert _slots(events)["counselor_offered"] is False
    assert "counselor_requested" not in _slots(events)


def test_affirm_without_an_offer_is_an_ordinary_yes(domain):
    responses, payload, _ = _run(ActionAnswer, _tracker("affirm", _risk("none")), domain)
    assert _names(responses) == ["utter_affirm"]
    assert payload["escalate"] is False


# --------------------------------------------------------------------------------- risk memory


@pytest.mark.parametrize("previous", ["concern", "high", "imminent"])
def test_a_later_calm_message_does_not_lower_the_risk_level(domain, previous):
    slots = {"risk_level": previous, "risk_category": "disclose_physical_abuse"}
    _, payload, events = _run(ActionAnswer, _tracker("thank", _risk("none"), slots=slots), domain)
    assert payload["level"] == "none"  # the payload is about this message
    assert "risk_level" not in _slots(events) and "risk_category" not in _slots(events)


def test_a_higher_level_replaces_the_stored_one(domain):
    slots = {"risk_level": "concern", "risk_category": "disclose_bullying"}
    tracker = _tracker("disclose_physical_abuse", _risk("high", "disclose_physical_abuse"), slots=slots)
    _, _, events = _run(ActionHandleRisk, tracker, domain)
    assert (_slots(events)["risk_level"], _slots(events)["risk_category"]) == ("high", "disclose_physical_abuse")


def test_an_equal_or_lower_level_keeps_the_stored_one(domain):
    slots = {"risk_level": "high", "risk_category": "disclose_sexual_abuse"}
    for level in ("concern", "high"):
        tracker = _tracker("disclose_bullying", _risk(level, "disclose_bullying"), slots=slots)
        _, _, events = _run(ActionHandleRisk, tracker, domain)
        assert "risk_level" not in _slots(events)


def test_every_event_is_a_slot_of_the_domain(domain):
    for tracker in (_tracker("disclose_self_harm", _risk("imminent", "disclose_self_harm")),
                    _tracker("request_counselor", _risk("none")),
                    _tracker("nlu_fallback", _risk("none"))):
        _, _, events = _run(ActionHandleRisk, tracker, domain)
        for event in events:
            assert event["event"] == "slot" and event["name"] in domain["slots"], event
        assert SlotSet("fallback_count", _slots(events)["fallback_count"]) in events


# ------------------------------------------------------------------------------------ fallback


def test_first_fallback_asks_to_clarify_with_buttons_from_the_ranking(domain):
    ranking = [("nlu_fallback", 0.3), ("ask_online_safety", 0.25), ("greet", 0.2),
               ("ask_body_safety", 0.15), ("request_counselor", 0.1), ("ask_campaign", 0.05)]
    tracker = _tracker("nlu_fallback", _risk("none"), confidence=0.3, ranking=ranking)
    responses, payload, events = _run(ActionAnswer, tracker, domain)
    assert _names(responses) == ["utter_clarify"]
    buttons = responses[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/ask_online_safety", "/ask_body_safety", "/request_counselor"]
    assert [b["title"] for b in buttons] == [TOPIC_TITLES[b["payload"][1:]] for b in buttons]
    assert payload["fallback"] is True and payload["escalate"] is False
    assert _slots(events)["fallback_count"] == 1


def test_clarify_fills_up_to_three_buttons_with_default_topics(domain):
    ranking = [("nlu_fallback", 0.3), ("ask_campaign", 0.2), ("greet", 0.2)]
    tracker = _tracker("nlu_fallback", _risk("none"), confidence=0.3, ranking=ranking)
    responses, _, _ = _run(ActionAnswer, tracker, domain)
    payloads = [b["payload"][1:] for b in responses[0]["buttons"]]
    assert len(payloads) == 3 and len(set(payloads)) == 3
    assert payloads[0] == "ask_campaign"
    assert set(payloads[1:]) <= set(DEFAULT_CLARIFY_TOPICS)


def test_second_fallback_in_a_row_gives_the_default_reply(domain):
    tracker = _tracker("nlu_fallback", _risk("none"), confidence=0.3, slots={"fallback_count": 1.0})
    responses, payload, events = _run(ActionAnswer, tracker, domain)
    assert _names(responses) == ["utter_default"]
    assert "buttons" not in responses[0] or not responses[0]["buttons"]
    assert payload["fallback"] is True
    assert _slots(events)["fallback_count"] == 0


def test_an_understood_message_resets_the_fallback_count(domain):
    _, _, events = _run(ActionAnswer, _tracker("greet", _risk("none"), slots={"fallback_count": 1.0}), domain)
    assert _slots(events)["fallback_count"] == 0
    responses, _, _ = _run(ActionAnswer, _tracker("nlu_fallback", _risk("none"), slots=_slots(events)), domain)
    assert _names(responses) == ["utter_clarify"]


def test_fallback_with_risk_gets_the_risk_reply(domain):
    tracker = _tracker("nlu_fallback", _risk("imminent", "disclose_self_harm"), confidence=0.2,
                       slots={"fallback_count": 1.0})
    responses, payload, _ = _run(ActionAnswer, tracker, domain)
    assert _names(responses) == ["utter_imminent_self_harm", "utter_disclosure_self_harm", COUNSELOR_TOLD]
    assert payload["escalate"] is True and payload["fallback"] is False


# ------------------------------------------------------------------------------ domain coverage


def _every_response_name() -> set[str]:
    from actions import replies

    names = set(replies.DISCLOSURE_RESPONSES.values()) | set(replies.TOPIC_RESPONSES.values())
    names |= {"utter_imminent_safety", "utter_imminent_safety_steps", "utter_imminent_self_harm",
              "utter_concern_support", "utter_counselor_accepted", "utter_counselor_declined", "utter_clarify",
              "utter_default", replies.COUNSELOR_OFFER, replies.COUNSELOR_TOLD}
    return names | set(replies.FOLLOW_UPS.values())


def test_every_response_the_actions_can_utter_exists_in_the_domain(domain):
    missing = sorted(name for name in _every_response_name() if name not in domain["responses"])
    assert missing == []


def test_every_intent_the_replies_know_is_in_the_domain(domain):
    from actions import replies

    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    known = set(replies.DISCLOSURE_RESPONSES) | set(replies.TOPIC_RESPONSES) | set(replies.TOPIC_TITLES)
    assert known <= intents
    assert {"action_answer", "action_handle_risk"} <= set(domain["actions"])


def test_every_response_actually_uttered_exists_in_the_domain(domain):
    """Run the actions over every intent and level and collect what they really say."""
    uttered: set[str] = set()
    intents = list(TOPIC_RESPONSES) + DISCLOSURES + ["nlu_fallback"]
    for intent in intents:
        for level in ("none", "concern", "high", "imminent"):
            for category in [None] + DISCLOSURES:
                for slots in ({}, {"counselor_offered": True}, {"fallback_count": 1.0}):
                    tracker = _tracker(intent, _risk(level, category), slots=slots)
                    responses, _, _ = _run(ActionAnswer, tracker, domain)
                    uttered.update(_names(responses))
    assert uttered <= set(domain["responses"])
    assert uttered <= _every_response_name()


# ------------------------------------------------------------------------------- follow-ups


def _tracker_with_detail(intent: str, detail: str, slots: dict[str, Any] | None = None) -> Tracker:
    tracker = _tracker(intent, _risk("none"), slots=slots, text=f'/{intent}{{"detail":"{detail}"}}')
    tracker.latest_message["entities"] = [{"entity": "detail", "value": detail}]
    return tracker


@pytest.mark.parametrize(("topic", "detail"), sorted(FOLLOW_UPS))
def test_a_follow_up_button_gets_its_response(domain, topic, detail):
    responses, payload, _ = _run(ActionAnswer, _tracker_with_detail(topic, detail), domain)
    assert _names(responses) == [FOLLOW_UPS[(topic, detail)]]
    assert FOLLOW_UPS[(topic, detail)] in domain["responses"]
    assert payload["escalate"] is False


def test_an_unknown_detail_gets_the_topic_answer(domain):
    responses, _, _ = _run(ActionAnswer, _tracker_with_detail("ask_body_safety", "nonsense"), domain)
    assert _names(responses) == ["utter_ask_body_safety"]


def test_a_follow_up_with_risk_still_gets_the_risk_reply(domain):
    tracker = _tracker_with_detail("ask_body_safety", "more")
    tracker.latest_message["risk"] = _risk("high", "disclose_sexual_abuse")
    responses, _, _ = _run(ActionAnswer, tracker, domain)
    assert _names(responses) == ["utter_disclosure_sexual_abuse", COUNSELOR_TOLD]
