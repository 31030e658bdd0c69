"""The risk engine: lexicon file, pattern language, intent/lexicon combination, dampers, case file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from vietnlu.risk import (
    DEFAULT_RISK_LEXICON_PATH,
    DISCLOSURE_TOPICS,
    LEVELS,
    RiskAssessment,
    RiskLexicon,
    assess,
)
from vietnlu.text import strip_diacritics

ROOT = Path(__file__).resolve().parents[2]

CASES_PATH = Path(__file__).resolve().parent / "data" / "risk_cases.jsonl"
CASES = [json.loads(line) for line in CASES_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
RANK = LEVELS.index


@pytest.fixture(scope="module")
def lexicon() -> RiskLexicon:
    return RiskLexicon.load()


def _level(text: str, intent: str | None = None, confidence: float = 0.0, lexicon=None, ranking=None) -> str:
    return assess(text, intent, confidence, ranking=ranking, lexicon=lexicon).level


# --------------------------------------------------------------------------- the lexicon file


def test_lexicon_file_loads_and_every_entry_is_reviewable(lexicon):
    raw = yaml.safe_load(DEFAULT_RISK_LEXICON_PATH.read_text(encoding="utf-8"))
    categories = raw["categories"]
    expected = {
        "self_harm",
        "sexual_abuse",
        "physical_violence",
        "online_abuse",
        "trafficking_forced_labour",
        "neglect",
        "bullying",
        "immediate_danger",
    }
    assert expected <= set(categories)
    count = 0
    for name, entries in categories.items():
        assert entries, f"{name} has no entries"
        for entry in entries:
            count += 1
            assert entry.get("patterns"), entry
            assert entry.get("level") in ("concern", "high", "imminent"), entry
            assert entry.get("topic") in DISCLOSURE_TOPICS, entry
            assert str(entry.get("note") or "").strip(), entry
    assert count == len(lexicon.entries)
    for emoji in raw["emoji"]:
        assert emoji.get("level") in LEVELS and emoji.get("topic") in DISCLOSURE_TOPICS
        assert str(emoji.get("note") or "").strip()
    for group in ("hyperbole", "everyday", "general_question", "general_question_weak", "negation", "past_over"):
        for item in raw["dampers"][group]:
            assert item.get("patterns") and str(item.get("note") or "").strip(), (group, item)
    dampers = raw["dampers"]["hyperbole"] + raw["dampers"]["everyday"]
    hyperbole = " ".join(p for item in dampers for p in item["patterns"])
    for phrase in ("chết mất", "chết đi được", "muốn xỉu", "giết thời gian", "đánh (game", "bị điểm (kém"):
        assert phrase in hyperbole


def test_every_level_has_entries_in_the_lexicon(lexicon):
    levels = {entry.level for entry in lexicon.entries}
    assert levels == {1, 2, 3}


@pytest.mark.parametrize(
    "bad, message",
    [
        ("level: severe", "unknown level"),
        ("level: high\n      topic: disclose_everything", "unknown topic"),
    ],
)
def test_loader_rejects_unknown_levels_and_topics(tmp_path, bad, message):
    path = tmp_path / "risk.yml"
    path.write_text(
        "categories:\n  x:\n    - patterns: ['bị đánh']\n      " + bad + "\n      note: n\n", encoding="utf-8"
    )
    if "topic" not in bad:
        path.write_text(path.read_text(encoding="utf-8").replace("note: n", "topic: disclose_bullying\n      note: n"))
    with pytest.raises(ValueError, match=message):
        RiskLexicon.load(path)


def test_loader_rejects_unbalanced_groups(tmp_path):
    path = tmp_path / "risk.yml"
    path.write_text(
        "categories:\n  x:\n    - patterns: ['(sờ|mó chỗ kín']\n      level: high\n"
        "      topic: disclose_sexual_abuse\n      note: n\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="missing"):
        RiskLexicon.load(path)


# --------------------------------------------------------------------------- the pattern language


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> RiskLexicon:
    path = tmp_path_factory.mktemp("lex") / "risk.yml"
    path.write_text(
        """
categories:
  sexual_abuse:
    - patterns: ["sờ ... chỗ kín", "(đang|) bị nhốt ...2 (phòng|kho)"]
      level: high
      topic: disclose_sexual_abuse
      note: test
""",
        encoding="utf-8",
    )
    return RiskLexicon.load(path)


@pytest.mark.parametrize(
    "text, level",
    [
        ("Chú sờ chỗ kín em", "high"),
        ("chu so vao cho kin em", "high"),  # no diacritics
        ("chú sờ vào tận chỗ kín", "high"),  # a gap of two words
        ("chú sờ vào người rồi lại xuống chỗ kín", "none"),  # more words than the gap allows
        ("em bị nhốt trong phòng", "high"),  # optional word absent
        ("em đang bị nhốt trong kho", "high"),  # optional word present
        ("e bij nhốt trong kho", "high"),  # teencode
        ("chỗ kín", "none"),
    ],
)
def test_pattern_language(tiny, text, level):
    assert _level(text, lexicon=tiny) == level


def test_matching_ignores_diacritics_on_every_case(lexicon):
    for case in CASES:
        with_marks = assess(case["text"], case["intent"], case["confidence"], lexicon=lexicon).level
        without = assess(strip_diacritics(case["text"]), case["intent"], case["confidence"], lexicon=lexicon).level
        # Stripping may merge words (bán/bạn) but must never lower a disclosure's level.
        if RANK(case["expected_level"]) >= 2:
            assert RANK(without) >= 2, case["text"]
        assert abs(RANK(with_marks) - RANK(without)) <= 1, case["text"]


# --------------------------------------------------------------------------- combination rules


def test_result_shape_and_signals(lexicon):
    risk = assess("chú em hay sờ chỗ kín em", "disclose_sexual_abuse", 0.91, lexicon=lexicon)
    assert isinstance(risk, RiskAssessment)
    assert risk.as_dict() == {"level": "high", "category": "disclose_sexual_abuse", "signals": risk.signals}
    assert "intent:disclose_sexual_abuse:0.91" in risk.signals
    assert "lex:sexual_abuse:so cho kin" in risk.signals


def test_the_pipeline_may_pass_its_own_teencode_lexicon(lexicon):
    from vietnlu.lexicon import Lexicon

    risk = assess("e bi chu so cho kin", "out_of_scope", 0.5, lexicon=lexicon, text_lexicon=Lexicon.load())
    assert risk.level == "high"


def test_nothing_fired_gives_none_and_no_category(lexicon):
    risk = assess("chào bạn nha", "greet", 0.97, lexicon=lexicon)
    assert risk.as_dict() == {"level": "none", "category": None, "signals": []}


@pytest.mark.parametrize(
    "intent, confidence, level",
    [
        ("disclose_sexual_abuse", 0.91, "high"),
        ("disclose_self_harm", 0.8, "high"),
        ("disclose_bullying", 0.9, "concern"),
        ("disclose_neglect", 0.9, "concern"),
        ("report_third_party", 0.9, "concern"),
        ("disclose_sexual_abuse", 0.4, "concern"),  # unsure: at least concern
        ("disclose_sexual_abuse", 0.1, "none"),
        ("greet", 0.99, "none"),
        (None, 0.0, "none"),
    ],
)
def test_intent_alone(lexicon, intent, confidence, level):
    assert _level("em có chuyện muốn kể", intent, confidence, lexicon=lexicon) == level


def test_runner_up_disclosure_counts(lexicon):
    text = "em có chuyện muốn kể"
    for top, runner_up, level in ((0.5, 0.4, "high"), (0.7, 0.25, "concern"), (0.9, 0.05, "none")):
        ranking = [("out_of_scope", top), ("disclose_self_harm", runner_up)]
        assert _level(text, "out_of_scope", top, lexicon, ranking) == level


def test_strong_lexicon_signal_overrides_a_wrong_intent(lexicon):
    risk = assess("ông hàng xóm cho tay vào quần em", "out_of_scope", 0.88, lexicon=lexicon)
    assert risk.level == "high" and risk.category == "disclose_sexual_abuse"
    assert _level("cứu em với", "greet", 0.95, lexicon=lexicon) == "imminent"


def test_hyperbole_is_blanked_but_a_real_signal_beside_it_still_fires(lexicon):
    assert _level("học muốn chết", "out_of_scope", 0.6, lexicon=lexicon) == "none"
    assert _level("mệt chết mất, em không muốn sống nữa", "out_of_scope", 0.6, lexicon=lexicon) == "high"
    risk = assess("mẹ giết em mất", "disclose_physical_abuse", 0.9, lexicon=lexicon)
    assert risk.level == "concern" and "damp:hyperbole:me giet em mat" in risk.signals


def test_general_question_lowers_but_a_specific_disclosure_asked_as_question_stays(lexicon):
    assert _level("xâm hại tình dục là gì", "faq", 0.8, lexicon=lexicon) == "none"
    # a bare abuse word with no victim: nothing for a question, a worry otherwise
    assert _level("xâm hại bằng lời nói có tính không", "faq", 0.6, lexicon=lexicon) == "none"
    assert _level("xâm hại", "out_of_scope", 0.3, lexicon=lexicon) == "concern"
    assert _level("xâm hại tình dục là gì", "disclose_sexual_abuse", 0.9, lexicon=lexicon) == "concern"
    assert _level("chú em hay sờ chỗ kín em vậy có sao không", "faq", 0.6, lexicon=lexicon) == "high"


def test_hypothetical_is_undone_only_by_a_real_event(lexicon):
    assert _level("nếu bạn em bị bắt nạt thì em nên làm gì", "faq", 0.6, lexicon=lexicon) == "none"
    assert _level("nếu em bị sờ chỗ kín thì sao", "faq", 0.6, lexicon=lexicon) == "none"
    assert _level("bố dọa giết em nếu em mách mẹ", "out_of_scope", 0.5, lexicon=lexicon) == "high"


def test_a_means_or_a_time_beside_suicidal_talk_makes_it_imminent(lexicon):
    assert _level("em cầm sẵn dao lam rồi", "out_of_scope", 0.6, lexicon=lexicon) == "none"
    assert _level("em cầm sẵn dao lam rồi", "disclose_self_harm", 0.7, lexicon=lexicon) == "imminent"
    assert _level("em muốn chết, tối nay", "out_of_scope", 0.5, lexicon=lexicon) == "imminent"
    # a weak, hyperbole-capped reading is not lifted
    assert _level("tối nay học muốn chết", "disclose_self_harm", 0.5, lexicon=lexicon) == "none"


def test_presence_of_an_adult_is_imminent_only_beside_abuse_or_a_plea(lexicon):
    assert _level("bố em đang ở dưới nhà xem ti vi", "out_of_scope", 0.8, lexicon=lexicon) == "none"
    assert _level("chú ấy đang ở dưới nhà", "disclose_sexual_abuse", 0.7, lexicon=lexicon) == "imminent"
    assert _level("giúp em với, dượng đang ở ngoài cửa phòng em", "greet", 0.4, lexicon=lexicon) == "imminent"
    # cries for help count even inside a question; other imminent phrases do not
    assert _level("cứu em với, làm sao bây giờ", "faq", 0.7, lexicon=lexicon) == "imminent"
    assert _level("nếu người lạ kéo em lên xe thì em nên làm gì", "faq", 0.7, lexicon=lexicon) == "none"


def test_denial_and_past_harm(lexicon):
    assert _level("em không bị ai đánh cả", "faq", 0.6, lexicon=lexicon) == "none"
    assert _level("hồi trước chú hay sờ chỗ kín em, giờ chú đi tù rồi", "faq", 0.5, lexicon=lexicon) == "concern"


def test_third_party_category_and_level(lexicon):
    risk = assess("bạn em bị bố đánh gãy tay", "report_third_party", 0.8, lexicon=lexicon)
    assert (risk.level, risk.category) == ("high", "report_third_party")
    risk = assess("bạn em bị bố đánh", "disclose_physical_abuse", 0.7, lexicon=lexicon)
    assert (risk.level, risk.category) == ("concern", "report_third_party")


def test_emoji_alone_and_beside_words(lexicon):
    assert _level("😭😭", "out_of_scope", 0.5, lexicon=lexicon) == "none"
    assert _level("🔪", "out_of_scope", 0.5, lexicon=lexicon) == "none"
    assert _level("em muốn chết 🔪", "disclose_self_harm", 0.9, lexicon=lexicon) == "imminent"


def test_chat_spellings_from_the_synonyms_section(lexicon):
    assert _level("bố uýnh em hoài", "out_of_scope", 0.5, lexicon=lexicon) == "high"
    assert _level("em muốn die", "out_of_scope", 0.5, lexicon=lexicon) == "high"
    # "quanh" (around) is not read as Southern "quánh" (hit)
    assert _level("mọi người xung quanh em tốt lắm", "out_of_scope", 0.5, lexicon=lexicon) == "none"


def test_ambiguous_folds_do_not_fire(lexicon):
    # từ từ / tự tử, tư vấn / tự vẫn, trời / trói, hàng / háng fold the same way.
    everyday = (
        "em đi từ từ",
        "em muốn được tư vấn",
        "trời mưa quá",
        "ông hàng xóm tốt lắm",
        "anh hai em đi bộ đội rồi",
        "mẹ dành cho em một món quà",
        "bố em đang ở ngoài cửa hàng",
        "em muốn cứu con mèo bị thương",
        "nếu thấy hàng xóm đánh con thì có nên báo không",  # thấy / thầy
        "mẹ đang tìm em về ăn cơm",
        "bố đánh em rồi",  # "rồi" folds like "roi" (cane): concern, not high
    )
    for text in everyday[:-1]:
        assert _level(text, "out_of_scope", 0.7, lexicon=lexicon) == "none", text
    assert _level(everyday[-1], "out_of_scope", 0.7, lexicon=lexicon) == "concern"


# --------------------------------------------------------------------------- the case file


def test_case_file_is_varied():
    kinds = {case["kind"] for case in CASES}
    assert {"imminent", "high", "concern", "hyperbole", "faq", "conversation"} <= kinds
    assert len(CASES) >= 150
    assert sum(case["text"] == strip_diacritics(case["text"]) for case in CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_case(lexicon, case):
    risk = assess(case["text"], case["intent"], case["confidence"], lexicon=lexicon)
    expected, got = RANK(case["expected_level"]), RANK(risk.level)
    if case["expected_level"] == "imminent":
        assert risk.level == "imminent", risk.signals
    elif expected >= 1:
        assert got >= expected, risk.signals
    else:  # none: hyperbole, FAQ questions and conversation must not raise a high alarm
        assert got < RANK("high"), risk.signals
    if got > 0:
        assert risk.category in DISCLOSURE_TOPICS


def test_exact_level_report(lexicon, capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    from risk_report import evaluate, format_report

    result = evaluate(CASES, lexicon)
    with capsys.disabled():
        print("\nrisk cases:\n" + format_report(result))
    assert result["recall_imminent"] == 1.0
    assert result["exact"] / result["cases"] >= 0.9


def test_a_neighbour_hearing_or_seeing_a_child_hurt_now_is_imminent(lexicon):
    # the actor stands between "bị" and the verb; a time since when makes it right now
    assert _level("con bé hàng xóm bị ba nó nhốt trong phòng", "out_of_scope", 0.5, lexicon=lexicon) == "high"
    assert (
        _level("con bé hàng xóm bị ba nó nhốt trong phòng từ chiều tới giờ", "out_of_scope", 0.5, lexicon=lexicon)
        == "imminent"
    )
    # tied or shut outside is a danger now even without a time
    assert _level("con bé hàng xóm bị ba nó trói ngoài gốc cây", "out_of_scope", 0.5, lexicon=lexicon) == "imminent"
    assert (
        _level("bé nhà bên bị ổng trói ngoài sân từ trưa tới chừ", "report_third_party", 0.5, lexicon=lexicon)
        == "imminent"
    )
    # an animal shut outside, or a film or a news item, is not a child the writer knows
    assert (
        _level("con chó nhà hàng xóm bị cột ngoài gốc cây từ chiều tới giờ", "out_of_scope", 0.6, lexicon=lexicon)
        == "none"
    )
    assert _level("con mèo bị nhốt ngoài sân từ chiều tới giờ", "out_of_scope", 0.6, lexicon=lexicon) == "none"
    risk = assess("trên báo có vụ bé gái bị cha trói ngoài gốc cây", "faq", 0.6, lexicon=lexicon)
    assert risk.level == "none" and any(s.startswith("damp:general:") for s in risk.signals)
    # the writer as the victim undoes the story framing
    assert (
        _level("em xem thời sự mà nhớ hồi sáng em bị ba trói ngoài sân", "out_of_scope", 0.5, lexicon=lexicon) != "none"
    )


def test_an_abuser_calling_the_child_now_lifts_abuse_but_not_an_ordinary_call(lexicon):
    text = "anh họ đang gọi em vào phòng, lần trước anh ấy bắt em xem phim bậy"
    assert _level(text, "disclose_sexual_abuse", 0.6, lexicon=lexicon) == "imminent"
    assert _level("anh họ gọi em vô phòng chơi game", "out_of_scope", 0.7, lexicon=lexicon) == "none"
    # knocking alone is no danger sign; banging on the door still is
    assert _level("chú đang gõ cửa phòng em kêu dậy đi học", "out_of_scope", 0.6, lexicon=lexicon) == "none"
    assert _level("nó đang đập cửa phòng em", "out_of_scope", 0.6, lexicon=lexicon) == "imminent"


def test_a_childs_question_about_their_own_images_is_not_a_general_question(lexicon):
    own = "nếu có người đang giữ hình không mặc đồ của em thì em có bị công an bắt không"
    risk = assess(own, "faq", 0.55, lexicon=lexicon)
    # "bị công an bắt không" asks what will happen: it is not harm that is over
    assert risk.level == "high" and not any(s.startswith("damp:past_over") for s in risk.signals)
    assert _level("bạn trai cũ còn giữ clip nhạy cảm của em, em phải làm sao", "faq", 0.55, lexicon=lexicon) == "high"
    assert (
        _level("nếu bạn gửi ảnh nóng cho người lạ thì có bị công an bắt không", "faq", 0.6, lexicon=lexicon) == "none"
    )
    # a plain statement that the abuser was arrested still means the harm is over
    risk = assess(
        "hồi trước chú hay sờ chỗ kín em, chú bị công an bắt rồi", "disclose_sexual_abuse", 0.6, lexicon=lexicon
    )
    assert risk.level == "concern"


def test_a_laugh_beside_a_guessed_punishment_is_a_joke_but_harm_told_with_a_laugh_is_not(lexicon):
    joke = "ba thấy điểm này chắc ba đập tui chết quá 🤣"
    assert _level(joke, "disclose_physical_abuse", 0.62, lexicon=lexicon) == "none"
    assert _level(joke.replace(" 🤣", ""), "disclose_physical_abuse", 0.62, lexicon=lexicon) == "high"
    # emoticons and "kkk" are gone after normalising: they are read on the raw text
    assert _level("tối nay về chắc bị bố giết kkk", "disclose_physical_abuse", 0.6, lexicon=lexicon) == "none"
    assert _level("mẹ mà biết chắc mẹ xử em luôn =))", "disclose_physical_abuse", 0.55, lexicon=lexicon) == "none"
    # no guess: a beating told as a fact, with a nervous laugh, still counts
    assert _level("hôm qua ba đánh em chảy máu đầu haha", "disclose_physical_abuse", 0.6, lexicon=lexicon) == "high"
    # a joke does not damp self-harm words
    assert _level("chắc mẹ giết em mất 😂 mà em muốn chết thật", "disclose_self_harm", 0.6, lexicon=lexicon) == "high"


def test_a_cry_for_help_over_homework_or_a_game_is_no_alarm_unless_harm_is_named(lexicon):
    assert _level("cứu tui với, mai nộp bài thuyết trình mà chưa làm", "out_of_scope", 0.5, lexicon=lexicon) == "none"
    assert _level("cứu em, điện thoại còn 1% pin", "out_of_scope", 0.5, lexicon=lexicon) == "none"
    assert _level("cứu em với", "out_of_scope", 0.5, lexicon=lexicon) == "imminent"
    assert _level("cứu em với, em không biết làm sao nữa", "out_of_scope", 0.5, lexicon=lexicon) == "imminent"
    homework_and_beating = "cứu em với, chưa làm bài tập là bố đánh em"
    assert _level(homework_and_beating, "out_of_scope", 0.5, lexicon=lexicon) == "imminent"


def test_how_to_tell_law_and_prevention_questions_stay_general(lexicon):
    for text in (
        "những biểu hiện nào cho thấy một đứa trẻ có thể đang bị xâm hại",
        "làm sao biết học sinh đang bị bạo hành ở nhà",
        "lam sao de biet con minh dang bi xam hai",
        "làm thế nào để biết con tôi có bị bắt nạt ở trường không",
        "ép con nít lấy chồng sớm có bị phạt không",
        "làm gì để lớp mình không còn ai bị ăn hiếp",
    ):
        assert _level(text, "faq", 0.6, lexicon=lexicon) == "none", text
    # the child's own situation is still a disclosure
    assert _level("bố đánh em bầm tím, em có bị phạt không nếu em kể", "faq", 0.6, lexicon=lexicon) in (
        "high",
        "imminent",
    )


def test_stories_name_characters_not_the_writer(lexicon):
    story = "phim hôm qua có cảnh đứa bé bị bố đánh chảy máu, xem mà khóc"
    assert _level(story, "report_third_party", 0.5, lexicon=lexicon) == "none"
    assert _level("nhân vật chính trong truyện bị mẹ kế hành hạ", "report_third_party", 0.45, lexicon=lexicon) == "none"
    # being made to watch a sex film is not a film retold
    assert _level("ông nội bắt em xem phim sex với ổng", "disclose_sexual_abuse", 0.6, lexicon=lexicon) == "high"


def test_passive_suicidal_wishes_count_after_neu_but_not_in_a_story_or_a_question(lexicon):
    wish = "nếu mai không tỉnh dậy nữa thì cũng chẳng ai nhớ"
    assert _level(wish, "out_of_scope", 0.35, lexicon=lexicon) == "high"
    assert _level("uoc gi minh dung duoc sinh ra", "out_of_scope", 0.4, lexicon=lexicon) == "high"
    quoted = "nhân vật trong truyện nói ước gì mình đừng được sinh ra, đọc buồn ghê"
    assert _level(quoted, "disclose_self_harm", 0.45, lexicon=lexicon) == "none"
    sign = "dấu hiệu trẻ có ý nghĩ tự tử là hay nói mình là gánh nặng phải không"
    assert _level(sign, "faq", 0.6, lexicon=lexicon) == "none"
    # a parent's insult is not the child's own wish
    assert _level("mẹ hay chửi em là gánh nặng", "out_of_scope", 0.5, lexicon=lexicon) != "high"
