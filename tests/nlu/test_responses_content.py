"""The default bot texts in domain.yml keep the safety promises: hotline numbers, disclosure replies, buttons."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

DOMAIN_PATH = Path(__file__).resolve().parents[2] / "domain.yml"

CONVERSATION = [
    "utter_greet", "utter_goodbye", "utter_thank", "utter_affirm", "utter_deny", "utter_bot_challenge",
    "utter_out_of_scope", "utter_request_counselor",
]
FAQ = [
    "utter_ask_hotline_111", "utter_ask_report_abuse", "utter_ask_body_safety", "utter_ask_online_safety",
    "utter_ask_bullying_help", "utter_ask_signs_of_abuse", "utter_ask_talk_to_child", "utter_ask_child_rights",
    "utter_ask_campaign",
]
FLOW = ["utter_welcome", "utter_checkin", "utter_clarify", "utter_default"]
DISCLOSURES = [
    "utter_disclosure_sexual_abuse", "utter_disclosure_physical_abuse", "utter_disclosure_online_abuse",
    "utter_disclosure_bullying", "utter_disclosure_neglect", "utter_disclosure_self_harm",
    "utter_disclosure_third_party", "utter_concern_support",
]
IMMINENT = ["utter_imminent_safety", "utter_imminent_self_harm"]
COUNSELOR = ["utter_offer_counselor", "utter_counselor_told", "utter_counselor_accepted", "utter_counselor_declined"]
GATEWAY = [
    "utter_non_text", "utter_service_unavailable", "utter_handoff_waiting", "utter_handoff_offline",
    "utter_handoff_joined", "utter_subscribed", "utter_unsubscribed",
]
REQUIRED = CONVERSATION + FAQ + FLOW + DISCLOSURES + IMMINENT + COUNSELOR + GATEWAY + ["utter_imminent_safety_steps"]

# A child in trouble may read any one of these: each variation must give the hotline.
MUST_GIVE_111 = (
    DISCLOSURES + IMMINENT + COUNSELOR
    + ["utter_imminent_safety_steps", "utter_request_counselor", "utter_default", "utter_service_unavailable",
       "utter_clarify", "utter_out_of_scope", "utter_non_text"]
    + [name for name in GATEWAY if name.startswith("utter_handoff")]
)

MAX_CHARS = 700


def _number(digits: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){digits}(?!\d)")


HOTLINE, POLICE, AMBULANCE = _number("111"), _number("113"), _number("115")
NOT_YOUR_FAULT = re.compile(r"không (phải|bao giờ là) lỗi|không có lỗi", re.IGNORECASE)
THANKS_FOR_TRUST = "cảm ơn bạn đã tin tưởng kể cho mình"


@pytest.fixture(scope="module")
def domain() -> dict:
    with DOMAIN_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def responses(domain: dict) -> dict[str, list[dict]]:
    return domain.get("responses") or {}


def _texts(responses: dict[str, list[dict]], name: str) -> list[str]:
    return [variation.get("text") or "" for variation in responses[name]]


def _payload_intent(payload: str) -> str:
    """'/ask_body_safety' or '/affirm{"x": 1}' -> the intent name."""
    return re.split(r"[{@]", payload[1:], maxsplit=1)[0]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_response_has_several_written_variations(responses, name):
    assert name in responses, f"{name} is missing from domain.yml"
    variations = responses[name]
    assert len(variations) >= 2, f"{name} needs at least two variations"
    for variation in variations:
        text = variation.get("text")
        assert isinstance(text, str) and text.strip(), f"{name} has a variation without text"
        assert len(text) <= MAX_CHARS, f"{name}: a variation has {len(text)} characters"
        # Braces would be read as slot templates by Rasa and by the gateway's renderer.
        assert "{" not in text and "}" not in text, f"{name}: braces in the text"


@pytest.mark.parametrize("name", MUST_GIVE_111)
def test_safety_responses_give_111_in_every_variation(responses, name):
    for text in _texts(responses, name):
        assert HOTLINE.search(text), f"{name}: a variation lacks 111: {text!r}"


@pytest.mark.parametrize("name", IMMINENT)
def test_imminent_responses_give_all_emergency_numbers(responses, name):
    for text in _texts(responses, name):
        assert HOTLINE.search(text) and POLICE.search(text) and AMBULANCE.search(text), (
            f"{name}: every variation needs 111, 113 and 115: {text!r}")


@pytest.mark.parametrize("name", DISCLOSURES)
def test_disclosure_first_reply_thanks_reassures_and_asks_nothing(responses, name):
    """The question about a counselor is a bubble of its own, sent at concern level only."""
    for variation in responses[name]:
        text = variation["text"]
        assert THANKS_FOR_TRUST in text.lower(), f"{name}: no thanks for telling: {text!r}"
        assert NOT_YOUR_FAULT.search(text), f"{name}: does not say it is not their fault: {text!r}"
        assert "tư vấn viên" not in text and not variation.get("buttons"), f"{name}: asks about a counselor"


def test_the_counselor_offer_asks_with_yes_and_later_buttons(responses):
    for variation in responses["utter_offer_counselor"]:
        assert "tư vấn viên" in variation["text"]
        payloads = {button["payload"] for button in variation.get("buttons") or []}
        assert {"/affirm", "/deny"} <= payloads


def test_sextortion_reply_gives_the_steps(responses):
    for text in _texts(responses, "utter_disclosure_online_abuse"):
        lowered = text.lower()
        for step in ("trả tiền", "gửi thêm", "chụp màn hình", "chặn", "báo cáo"):
            assert step in lowered, f"online abuse reply lacks '{step}': {text!r}"


def test_self_harm_reply_gives_hope_a_trusted_adult_and_how_to_stay_safe(responses):
    for text in _texts(responses, "utter_disclosure_self_harm"):
        lowered = text.lower()
        assert "quan trọng" in lowered and "xa" in lowered, text
        assert "người lớn bạn tin" in lowered, f"a trusted adult, not 'a friend': {text!r}"
        assert "khá hơn" in lowered, f"no message of hope: {text!r}"


def test_imminent_steps_say_leave_if_safe_and_never_confront(responses):
    for text in _texts(responses, "utter_imminent_safety_steps"):
        lowered = text.lower()
        assert "an toàn" in lowered and "hàng xóm" in lowered and "người lớn bạn tin" in lowered, text
        assert POLICE.search(text) and "đừng cãi" in lowered, text


def test_third_party_reply_gives_the_police_for_danger_now(responses):
    for text in _texts(responses, "utter_disclosure_third_party"):
        assert POLICE.search(text), text


def _faq_and_follow_ups() -> list[str]:
    with DOMAIN_PATH.open(encoding="utf-8") as handle:
        names = yaml.safe_load(handle)["responses"]
    return [name for name in names if name.startswith("utter_ask_")]


@pytest.mark.parametrize("name", _faq_and_follow_ups())
def test_every_faq_answer_ends_by_pointing_to_111(responses, name):
    for text in _texts(responses, name):
        last_line = text.strip().splitlines()[-1]
        assert HOTLINE.search(last_line), f"{name}: last line does not mention 111: {last_line!r}"


def test_default_offers_a_counselor_button(responses):
    for variation in responses["utter_default"]:
        assert "/request_counselor" in {b["payload"] for b in variation.get("buttons") or []}


def test_clarify_leaves_the_buttons_to_the_action(responses):
    assert all(not variation.get("buttons") for variation in responses["utter_clarify"])


def test_counselor_texts_never_promise_someone_is_already_there(responses):
    for name in ("utter_request_counselor", "utter_counselor_accepted", "utter_handoff_waiting",
                 "utter_handoff_offline"):
        for text in _texts(responses, name):
            assert "sớm nhất có thể" in text, f"{name} should say 'as soon as possible': {text!r}"
            assert not re.search(r"\d+\s*phút", text), f"{name} promises a time: {text!r}"


def test_unsubscribe_word_is_given(responses):
    for text in _texts(responses, "utter_subscribed"):
        assert "“dừng”" in text, text


def test_button_payloads_name_intents_of_the_domain(domain, responses):
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []}
    for name, variations in responses.items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                assert button.get("title"), f"{name}: a button has no title"
                payload = button.get("payload") or ""
                assert payload.startswith("/"), f"{name}: payload {payload!r} is not an intent"
                assert _payload_intent(payload) in intents, f"{name}: unknown intent in {payload!r}"
