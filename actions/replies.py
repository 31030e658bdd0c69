"""Which responses answer a message: chosen from the risk level first, then the intent.

Pure logic, no Rasa imports, so the rules are easy to read and to test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vietnlu.risk.levels import LEVELS  # the one spelling of the risk levels (RiskLevel)

DISCLOSURE_RESPONSES = {
    "disclose_sexual_abuse": "utter_disclosure_sexual_abuse",
    "disclose_physical_abuse": "utter_disclosure_physical_abuse",
    "disclose_online_abuse": "utter_disclosure_online_abuse",
    "disclose_bullying": "utter_disclosure_bullying",
    "disclose_neglect": "utter_disclosure_neglect",
    "disclose_self_harm": "utter_disclosure_self_harm",
    "report_third_party": "utter_disclosure_third_party",
}
DISCLOSURE_TOPICS = frozenset(DISCLOSURE_RESPONSES)

TOPIC_RESPONSES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "affirm": "utter_affirm",
    "deny": "utter_deny",
    "bot_challenge": "utter_bot_challenge",
    "out_of_scope": "utter_out_of_scope",
    "request_counselor": "utter_request_counselor",
    "ask_hotline_111": "utter_ask_hotline_111",
    "ask_report_abuse": "utter_ask_report_abuse",
    "ask_body_safety": "utter_ask_body_safety",
    "ask_online_safety": "utter_ask_online_safety",
    "ask_bullying_help": "utter_ask_bullying_help",
    "ask_signs_of_abuse": "utter_ask_signs_of_abuse",
    "ask_talk_to_child": "utter_ask_talk_to_child",
    "ask_child_rights": "utter_ask_child_rights",
    "ask_campaign": "utter_ask_campaign",
    "EXTERNAL_welcome": "utter_welcome",
    "EXTERNAL_checkin": "utter_checkin",
}

# Short Vietnamese labels for the clarification buttons of the first fallback stage.
TOPIC_TITLES = {
    "ask_hotline_111": "Tổng đài 111",
    "ask_report_abuse": "Cách báo tin xâm hại",
    "ask_body_safety": "Giữ an toàn cơ thể",
    "ask_online_safety": "An toàn trên mạng",
    "ask_bullying_help": "Bị bắt nạt thì làm sao",
    "ask_signs_of_abuse": "Dấu hiệu trẻ bị xâm hại",
    "ask_talk_to_child": "Nói chuyện với con",
    "ask_child_rights": "Quyền trẻ em",
    "ask_campaign": "Tháng hành động vì trẻ em",
    "request_counselor": "Nói chuyện với tư vấn viên",
}
# Follow-ups of a topic, asked for by a button whose payload carries the entity `detail`
# (/ask_body_safety{"detail":"more"} is "Xem thêm"): more responses, never more intents.
FOLLOW_UPS = {
    ("ask_hotline_111", "more"): "utter_ask_hotline_111_more",
    ("ask_hotline_111", "privacy"): "utter_ask_hotline_111_privacy",
    ("ask_report_abuse", "more"): "utter_ask_report_abuse_more",
    ("ask_body_safety", "more"): "utter_ask_body_safety_more",
    ("ask_online_safety", "more"): "utter_ask_online_safety_more",
    ("ask_online_safety", "phone"): "utter_ask_online_safety_phone",
    ("ask_bullying_help", "more"): "utter_ask_bullying_help_more",
    ("ask_bullying_help", "friend"): "utter_ask_bullying_help_friend",
    ("ask_signs_of_abuse", "more"): "utter_ask_signs_of_abuse_more",
    ("ask_talk_to_child", "more"): "utter_ask_talk_to_child_more",
    ("ask_talk_to_child", "after"): "utter_ask_talk_to_child_after",
    ("ask_child_rights", "more"): "utter_ask_child_rights_more",
    ("bot_challenge", "counselor"): "utter_bot_challenge_counselor",
    ("bot_challenge", "privacy"): "utter_bot_challenge_privacy",
}
# Said, not asked, once a case is with a counselor (high, imminent, or the child asked).
COUNSELOR_TOLD = "utter_counselor_told"
# Asked only at concern level.
COUNSELOR_OFFER = "utter_offer_counselor"

DEFAULT_CLARIFY_TOPICS = ("ask_hotline_111", "ask_body_safety", "ask_online_safety")
FALLBACK_INTENT = "nlu_fallback"
FALLBACKS_BEFORE_DEFAULT = 2


def level_rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else 0


@dataclass
class Reply:
    """What to say and what to remember after one user message."""

    responses: list[str]
    buttons: list[dict[str, str]] = field(default_factory=list)
    escalate: bool = False
    counselor_offered: bool = False
    counselor_requested: bool = False
    fallback_count: int = 0


@dataclass
class Turn:
    """What the action knows about the latest user message and the conversation so far."""

    intent: str | None
    confidence: float
    risk: dict[str, Any]
    ranking: list[tuple[str, float]] = field(default_factory=list)
    counselor_offered: bool = False
    fallback_count: int = 0
    text: str = ""
    detail: str | None = None

    @property
    def level(self) -> str:
        level = self.risk.get("level")
        return level if level in LEVELS else "none"


def asked_for_counselor(turn: Turn) -> bool:
    """Asking for a person, or saying yes to the offer, opens a case at any risk level."""
    return turn.intent == "request_counselor" or (turn.counselor_offered and turn.intent == "affirm")


def risk_reply(turn: Turn) -> Reply:
    """The reply to a disclosure, chosen by level first and category second.

    Nothing is asked once the case is with a counselor (high, imminent, or asked for): the child is
    told so instead. Only a concern-level message gets the question "do you want a counselor?".
    """
    category = turn.risk.get("category") or (turn.intent if turn.intent in DISCLOSURE_TOPICS else None)
    disclosure = DISCLOSURE_RESPONSES.get(category or "", "utter_concern_support")
    if turn.level == "imminent":
        if category == "disclose_self_harm":
            responses = ["utter_imminent_self_harm", disclosure]
        else:  # what to do now replaces the longer disclosure reply: the first bubbles stay short
            responses = ["utter_imminent_safety", "utter_imminent_safety_steps"]
    else:
        responses = [disclosure]
    requested = asked_for_counselor(turn)
    if turn.level in ("high", "imminent") or requested:
        return Reply([*responses, COUNSELOR_TOLD], escalate=True, counselor_requested=requested)
    # concern (or a disclosure intent the risk engine did not rate): offer a counselor.
    return Reply([*responses, COUNSELOR_OFFER], counselor_offered=True)


def clarify_buttons(ranking: list[tuple[str, float]]) -> list[dict[str, str]]:
    candidates = [name for name, _ in ranking if name in TOPIC_TITLES][:3]
    for name in DEFAULT_CLARIFY_TOPICS:
        if len(candidates) >= 3:
            break
        if name not in candidates:
            candidates.append(name)
    return [{"title": TOPIC_TITLES[name], "payload": f"/{name}"} for name in candidates]


def plan_reply(turn: Turn) -> Reply:
    """Risk first: any message rated concern or higher gets the safe disclosure reply."""
    if level_rank(turn.level) >= 1 or turn.intent in DISCLOSURE_TOPICS:
        return risk_reply(turn)
    if turn.intent == "request_counselor":
        return Reply(["utter_request_counselor"], escalate=True, counselor_requested=True)
    if turn.counselor_offered and turn.intent == "affirm":
        return Reply(["utter_counselor_accepted"], escalate=True, counselor_requested=True)
    if turn.counselor_offered and turn.intent == "deny":
        return Reply(["utter_counselor_declined"])
    if turn.intent == FALLBACK_INTENT or turn.intent not in TOPIC_RESPONSES:
        count = turn.fallback_count + 1
        if count >= FALLBACKS_BEFORE_DEFAULT:
            return Reply(["utter_default"], fallback_count=0)
        return Reply(["utter_clarify"], buttons=clarify_buttons(turn.ranking), fallback_count=count)
    follow_up = FOLLOW_UPS.get((turn.intent, turn.detail or ""))
    return Reply([follow_up or TOPIC_RESPONSES[turn.intent]])
