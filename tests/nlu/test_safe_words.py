"""The writing rules of docs/content.md (api/content/safe_words.py) hold for every default text in
domain.yml, and the rules themselves catch the texts they were written against."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from actions.replies import FOLLOW_UPS  # noqa: E402
from api.content import safe_words  # noqa: E402

UNITS_PATH = ROOT / "data" / "places" / "units.yml"


@pytest.fixture(scope="module")
def responses() -> dict[str, list[dict]]:
    with (ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["responses"]


def _names() -> list[str]:
    with (ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["responses"])


@pytest.mark.parametrize("name", _names())
def test_every_response_passes_the_content_rules(responses, name):
    assert safe_words.check_response(name, responses[name]) == []


def test_no_response_promises_secrecy(responses):
    for name, variations in responses.items():
        for variation in variations:
            assert not safe_words.promises_secrecy(variation["text"]), f"{name}: {variation['text']!r}"


def test_no_bot_text_says_em(responses):
    for name, variations in responses.items():
        for variation in variations:
            texts = [variation["text"], *(b["title"] for b in variation.get("buttons") or [])]
            for text in texts:
                assert safe_words.other_address(text) == [], f"{name}: {text!r}"


def test_every_fallback_gives_111(responses):
    for name in safe_words.FALLBACK_RESPONSES:
        for variation in responses[name]:
            assert safe_words.HOTLINE.search(variation["text"]), f"{name}: {variation['text']!r}"


def test_crisis_first_bubbles_are_short(responses):
    for name in safe_words.CRISIS_FIRST_RESPONSES:
        for variation in responses[name]:
            assert safe_words.syllables(variation["text"]) <= safe_words.CRISIS_FIRST_MAX_SYLLABLES, name


def test_checkins_show_no_hotline_risk_word_or_topic(responses):
    for name in safe_words.CHECKIN_RESPONSES:
        for variation in responses[name]:
            assert safe_words.preview_words(variation["text"], None) == [], variation["text"]
            titles = " ".join(b["title"] for b in variation.get("buttons") or [])
            assert safe_words.preview_words(titles, None) == [], titles


def test_faq_answers_have_at_most_three_bullets_and_a_more_button(responses):
    topics_with_more = {topic for topic, detail in FOLLOW_UPS if detail == "more"}
    for topic in topics_with_more:
        for variation in responses[f"utter_{topic}"]:
            assert safe_words.bullets(variation["text"]) <= safe_words.FAQ_MAX_BULLETS, topic
            more = [b for b in variation.get("buttons") or [] if b["title"] == safe_words.MORE_BUTTON_TITLE]
            assert len(more) == 1, f"utter_{topic} needs one “Xem thêm” button"
            assert more[0]["payload"] == f'/{topic}{{"detail":"more"}}'


def test_every_follow_up_button_leads_to_a_known_follow_up(responses):
    reached = set()
    for name, variations in responses.items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                match = re.fullmatch(r'/(\w+)\{"detail":"(\w+)"\}', button["payload"])
                if "{" in button["payload"]:
                    assert match, f"{name}: malformed payload {button['payload']!r}"
                if match:
                    assert (match[1], match[2]) in FOLLOW_UPS, f"{name}: {button['payload']!r}"
                    reached.add((match[1], match[2]))
    assert reached == set(FOLLOW_UPS), f"follow-ups no button leads to: {set(FOLLOW_UPS) - reached}"


def test_texts_name_only_current_administrative_units(responses):
    with UNITS_PATH.open(encoding="utf-8") as handle:
        provinces = yaml.safe_load(handle)["provinces"]
    former = [name for province in provinces for name in province["former"]]
    assert "Quảng Nam" in former and len(provinces) == 34
    for name, variations in responses.items():
        for variation in variations:
            for old in former:
                assert old not in variation["text"], f"{name} names the former province {old}"
            assert not safe_words.DISTRICT_WORDS.search(variation["text"]), name


# --- the rules catch what they were written against (texts before the rewrite) ----------------------

@pytest.mark.parametrize("text", [
    "Những gì bạn kể được giữ bí mật.",
    "Gọi 111: miễn phí, 24/7, những gì bạn kể được giữ kín.",
    "Tổng đài có thể giúp bạn ấy, và thông tin người báo được giữ kín.",
])
def test_secrecy_promises_are_caught(text):
    assert safe_words.promises_secrecy(text)


@pytest.mark.parametrize("text", [
    "Những gì bạn kể được giữ kín, trừ khi cần báo cho người có nhiệm vụ bảo vệ trẻ em để giữ bạn an toàn.",
    "Bạn không phải giữ bí mật cho người đó.",
    "Người lạ dặn giữ bí mật: hãy kể cho người lớn.",
])
def test_secrecy_with_who_may_be_told_or_advice_passes(text):
    assert not safe_words.promises_secrecy(text)


def test_shouting_and_confronting_are_caught_but_advice_against_them_passes():
    assert safe_words.provoking_advice("Bạn cũng có thể hét to để nhờ người xung quanh giúp.") == ["hét"]
    assert safe_words.provoking_advice("Nếu có người ở gần, hãy la to để xin giúp đỡ.")
    assert safe_words.provoking_advice("Đừng cãi lại hay làm người kia giận thêm.") == []
    assert safe_words.provoking_advice("Đừng tự đi hỏi thẳng người đó.") == []


def test_counselor_question_is_caught_in_text_and_buttons():
    assert safe_words.asks_about_counselor("Bạn có muốn nói chuyện với một tư vấn viên không?")
    assert safe_words.asks_about_counselor("…", [{"title": "Để sau", "payload": "/deny"}])
    assert not safe_words.asks_about_counselor("Mình đã báo cho một tư vấn viên.")


def test_em_is_caught_but_tre_em_is_not():
    assert safe_words.other_address("Cảm ơn em đã đăng ký!") == ["em"]
    assert safe_words.other_address("Mình đã báo cho anh chị tư vấn viên.")
    assert safe_words.other_address("Tổng đài quốc gia bảo vệ trẻ em. Trẻ em có quyền.") == []


def test_hard_words_and_length_are_caught():
    warnings = safe_words.check_variation("utter_ask_report_abuse", "Gọi 111 (24/7), báo Ủy ban nhân dân xã.")
    assert any("24/7" in w for w in warnings) and any("ủy ban nhân dân" in w for w in warnings)
    long_text = " ".join(["chữ"] * 95) + " 111"
    assert any("tối đa" in w for w in safe_words.check_variation("utter_greet", long_text))
    old_crisis = ("⚠️ Nếu bạn đang gặp nguy hiểm ngay lúc này:\n1. Đến nơi an toàn, chỗ có nhiều người, nếu bạn làm "
                  "được.\n2. Gọi 113 (công an).\n3. Nếu bị thương, gọi 115 (cấp cứu).\n4. Gọi 111 (bảo vệ trẻ em).\n"
                  "Cả ba số đều miễn phí. Bạn cũng có thể hét to để nhờ người xung quanh giúp.")
    warnings = safe_words.check_variation("utter_imminent_safety", old_crisis)
    assert any("hét" in w for w in warnings) and any("tiếng" in w for w in warnings)


def test_checkin_with_hotline_or_topic_is_caught():
    old = "Chào bạn, mình là chatbot đây. Số 111 luôn mở, miễn phí, 24/7, bất cứ khi nào bạn cần."
    assert any("111" in w for w in safe_words.check_variation("utter_checkin", old))
    assert safe_words.check_variation("utter_checkin", "Chào bạn, hôm nay bạn thấy thế nào?") == []
    assert safe_words.check_variation(
        "utter_checkin", "Chào bạn!", [{"title": "Gọi tổng đài", "payload": "/ask_hotline_111"}])


def test_fallback_without_111_is_caught():
    old = "Mình xin lỗi, mình chưa hiểu. Bạn viết lại ngắn hơn giúp mình được không?"
    assert any("111" in w for w in safe_words.check_variation("utter_clarify", old))


def test_districts_are_caught():
    assert safe_words.check_variation("utter_greet", "Công an huyện Núi Thành")


WEBCHAT_STATIC = ROOT / "api" / "channels" / "webchat" / "static"


def _page_texts() -> list[str]:
    """Every visible or spoken text of the web chat page: element text, aria-labels and the
    strings the script writes into the page."""
    html = (WEBCHAT_STATIC / "index.html").read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    texts = re.findall(r'aria-label="([^"]+)"', html) + re.findall(r'placeholder="([^"]+)"', html)
    texts += [t.strip() for t in re.split(r"<[^>]+>", html) if t.strip()]
    script = (WEBCHAT_STATIC / "webchat.js").read_text(encoding="utf-8")
    texts += [t for t in re.findall(r'"([^"\n]*[^\x00-\x7f][^"\n]*)"', script)]
    return texts


def test_the_web_chat_page_speaks_like_the_bot():
    texts = _page_texts()
    assert len(texts) > 10
    for text in texts:
        assert safe_words.hard_words(text) == [], text
        assert safe_words.other_address(text) == [], text
        assert not safe_words.promises_secrecy(text), text
    page = " ".join(texts)
    assert "111" in page and "Trợ lý Bảo vệ trẻ em" in page
    # The privacy line says who reads a risky chat and who may be told.
    assert "tư vấn viên" in page and "công an" in page
