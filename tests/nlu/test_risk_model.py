"""The learned risk model (vietnlu/risk/model.py) and its combination with the rules (combine.py)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from vietnlu.lexicon import load_default_lexicon
from vietnlu.risk import RiskAssessment, assess
from vietnlu.risk.combine import CLEAR_MODEL, LONE_MODEL_MIN, TOPIC_KEY_CONFIDENCE, TOPIC_KEY_MODEL_MIN, combine
from vietnlu.risk.model import (
    HEADS,
    MIN_THRESHOLD,
    TARGET_RECALL,
    FlatTrees,
    LinearHeads,
    ModelReading,
    RiskExample,
    RiskModel,
    choose_thresholds,
    corpus_fingerprint,
    hard_negative_weights,
    load_corpus,
    tfidf,
)

ROOT = Path(__file__).resolve().parents[2]

# A small corpus in the corpus' own format: enough for the model to learn the four levels.
SMALL = [
    ("bố em đang cầm dao đuổi em, em trốn trong nhà vệ sinh", "imminent", "physical", "self", "now"),
    ("em đếm đủ 30 viên thuốc rồi, tối nay em uống hết", "imminent", "self_harm", "self", "now"),
    ("ông ta đang đập cửa phòng em, em sợ lắm cứu em", "imminent", "physical", "self", "now"),
    ("em đang đứng trên sân thượng, không muốn sống nữa", "imminent", "self_harm", "self", "now"),
    ("chú em hay sờ vào chỗ kín của em mỗi khi mẹ đi vắng", "high", "sexual", "self", "ongoing"),
    ("ba đánh em bằng roi mây, lưng em bầm tím hết", "high", "physical", "self", "ongoing"),
    ("có người dọa tung ảnh nóng của em nếu em không gửi thêm", "high", "online", "self", "ongoing"),
    ("em hay nghĩ đến chuyện chết đi cho xong", "high", "self_harm", "self", "ongoing"),
    ("tụi bạn trong lớp hay chế giễu em, không chơi với em", "concern", "bullying", "self", "ongoing"),
    ("mẹ hay đi làm tới khuya, em ở nhà một mình hoài", "concern", "neglect", "self", "ongoing"),
    ("hồi lớp 3 em bị bạn đánh, giờ hết rồi nhưng em vẫn nhớ", "concern", "bullying", "self", "over"),
    ("dạo này em buồn lắm, không muốn làm gì", "concern", "self_harm", "self", "ongoing"),
    ("chào bot, hôm nay trời đẹp quá", "none", "none", "none", "none"),
    ("tổng đài 111 có mất phí không ạ", "none", "none", "general", "none"),
    ("học bài mệt muốn chết luôn", "none", "none", "story", "none"),
    ("game này boss đánh chết em 5 lần rồi", "none", "none", "story", "none"),
    ("làm sao để dạy con về vùng riêng tư", "none", "sexual", "general", "none"),
    ("cảm ơn bot nhiều nha", "none", "none", "none", "none"),
]


def _examples(repeat: int = 3) -> list[RiskExample]:
    return [
        RiskExample(text, level, {"harm": harm, "who": who, "when": when}, ("means",) if "thuốc" in text else ())
        for _ in range(repeat)
        for text, level, harm, who, when in SMALL
    ]


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel.train(_examples(), load_default_lexicon(), folds=3)


def _reading(level: str, p: float = 0.6, harm: str = "physical", who: str = "self", p_who: float = 0.9,
             when: str = "now") -> ModelReading:
    probabilities = {name: (p if name == level else (1 - p) / 3) for name in ("none", "concern", "high", "imminent")}
    others = [name for name in ("self", "other_child", "general", "story", "none") if name != who]
    who_probabilities = {who: p_who, **{name: (1 - p_who) / 4 for name in others}}
    return ModelReading(level, probabilities, {"harm": harm, "who": who, "when": when}, [], who_probabilities)


# --------------------------------------------------------------------------- corpus files


def test_load_corpus_reads_levels_and_factors_and_skips_conversations(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": "cứu em", "topic": "request_counselor", "risk": "imminent", "harm": "none",
                    "who": "self", "when": "now", "severity": ["abuser_present", "unknown"]}, ensure_ascii=False)
        + "\n\n" + json.dumps({"messages": ["a", "b"], "risk_in_context": "high"}) + "\n",
        encoding="utf-8",
    )
    [example] = load_corpus([tmp_path])
    assert example.level == "imminent"
    assert example.factors == {"harm": "none", "who": "self", "when": "now"}
    assert example.severity == ("abuser_present",)


def test_load_corpus_names_the_file_and_line_of_a_bad_level(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "x", "risk": "urgent"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: unknown risk 'urgent'"):
        load_corpus([tmp_path])


def test_fingerprint_follows_the_contents(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "a", "risk": "none"}\n', encoding="utf-8")
    before = corpus_fingerprint([tmp_path])
    assert corpus_fingerprint([tmp_path]) == before
    path.write_text('{"text": "a", "risk": "high"}\n', encoding="utf-8")
    assert corpus_fingerprint([tmp_path]) != before


# --------------------------------------------------------------------------- thresholds


def test_thresholds_keep_the_target_share_of_each_level():
    rng = np.random.default_rng(0)
    levels = ["none"] * 200 + ["concern"] * 100 + ["high"] * 100 + ["imminent"] * 100
    classes = ["concern", "high", "imminent", "none"]
    # Each message's own level is the likeliest, with plenty of spread.
    raw = rng.dirichlet(np.ones(4), size=len(levels))
    for row, level in enumerate(levels):
        raw[row, classes.index(level)] += 1.5
    raw /= raw.sum(axis=1, keepdims=True)
    thresholds = choose_thresholds(raw, classes, levels)
    imminent_scores = raw[400:, classes.index("imminent")]
    assert np.mean(imminent_scores >= thresholds["imminent"]) >= TARGET_RECALL["imminent"]
    assert all(MIN_THRESHOLD <= t <= 0.5 for t in thresholds.values())


def test_thresholds_never_fall_below_the_floor():
    levels = ["none", "imminent", "imminent", "imminent"]
    raw = np.array([[0.0, 0.0, 0.001, 0.999]] * 3 + [[0.0, 0.0, 0.9, 0.1]])
    assert choose_thresholds(raw, ["concern", "high", "imminent", "none"], levels)["imminent"] == MIN_THRESHOLD


# --------------------------------------------------------------------------- the model


def test_model_reads_levels_and_factors(model):
    assert model.read("bố em đang cầm dao đuổi em, em trốn trong nhà vệ sinh").level == "imminent"
    reading = model.read("chú em hay sờ vào chỗ kín của em mỗi khi mẹ đi vắng")
    assert reading.level in ("high", "imminent")
    assert reading.factors["harm"] == "sexual"
    assert model.read("chào bot, hôm nay trời đẹp quá").level == "none"


def test_model_reads_unaccented_teencode_like_the_accented_text(model):
    accented = model.read("ba đánh em bằng roi mây, lưng em bầm tím hết")
    typed = model.read("ba dánh e bang roi may, lung e bam tim het")
    assert typed.level == accented.level


def test_signals_name_the_level_and_the_factors(model):
    signals = model.read("em đếm đủ 30 viên thuốc rồi, tối nay em uống hết").signals()
    assert signals[0].startswith("model:imminent:")
    assert "model:harm=self_harm" in signals and "model:who=self" in signals


def test_save_and_load_give_the_same_readings(model, tmp_path):
    path = tmp_path / "risk_model.pkl"
    model.save(path)
    loaded = RiskModel.load(path, load_default_lexicon())
    texts = [text for text, *_ in SMALL]
    assert [r.probabilities for r in loaded.read_many(texts)] == [r.probabilities for r in model.read_many(texts)]


def test_only_harmless_messages_that_evoke_a_harm_get_the_hard_negative_weight():
    examples = _examples(repeat=1)
    weights = hard_negative_weights(examples, 3.0)
    weighted = [e.text for e, w in zip(examples, weights, strict=True) if w == 3.0]
    assert weighted == ["làm sao để dạy con về vùng riêng tư"]
    assert set(weights) == {1.0, 3.0}
    assert hard_negative_weights(examples, 1.0) is None


def test_weighing_hard_negatives_lowers_their_reading_of_harm(model):
    weighted = RiskModel.train(_examples(), load_default_lexicon(), folds=3, hard_negative_weight=5.0)
    texts = ["làm sao để dạy con về vùng riêng tư", "cách dạy con vùng riêng tư"]
    for plain, heavier in zip(model.read_many(texts), weighted.read_many(texts), strict=True):
        assert heavier.probabilities["none"] > plain.probabilities["none"]


def test_the_fast_tfidf_gives_what_scikit_learn_s_transform_gives(model):
    texts = [text for text, *_ in SMALL] + ["", "từ lạ chưa gặp bao giờ", "bo dánh e 😭 !!!"]
    folded = model.features.fold(texts)
    for vectorizer in (model.features.words, model.features.chars):
        fast, reference = tfidf(vectorizer, folded), vectorizer.transform(folded)
        assert fast.shape == reference.shape
        assert abs(fast - reference).max() < 1e-12


def test_the_stacked_heads_give_what_each_head_s_predict_proba_gives():
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    matrix = sparse_random(60, 400, density=0.05, format="csr", random_state=7)
    heads = {
        "yes_no": LogisticRegression(max_iter=500).fit(matrix, rng.integers(0, 2, 60) == 1),
        "three": LogisticRegression(max_iter=500).fit(matrix, rng.choice(["a", "b", "c"], 60)),
        "five": LogisticRegression(max_iter=500, class_weight="balanced").fit(matrix, rng.integers(0, 5, 60)),
    }
    expected = {name: head.predict_proba(matrix) for name, head in heads.items()}
    linear = LinearHeads(heads)
    read = linear.predict_proba(matrix[:7])
    for name, head in heads.items():
        assert np.abs(read[name] - expected[name][:7]).max() < 1e-12
        assert np.shares_memory(head.coef_, linear.weights)  # one copy of the weights
        assert np.abs(head.predict_proba(matrix) - expected[name]).max() < 1e-12  # the head still reads


def test_a_one_vs_rest_head_is_refused():
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    matrix = sparse_random(30, 50, density=0.2, format="csr", random_state=3)
    labels = np.random.default_rng(3).choice(["a", "b", "c"], 30)
    with pytest.raises(ValueError, match="one-vs-rest"):
        LinearHeads({"ovr": LogisticRegression(multi_class="ovr").fit(matrix, labels)})


def test_the_model_reads_through_its_stacked_heads_and_saves_them_once(model):
    texts = [text for text, *_ in SMALL]
    matrix = model.features.transform(texts)
    read = model.linear.predict_proba(matrix)
    for name, head in model.heads.items():
        assert np.abs(read[name] - head.predict_proba(matrix)).max() < 1e-12
    assert "linear" not in model.__getstate__()  # the file holds the weights once, in the heads
    unpickled = pickle.loads(pickle.dumps(model))  # noqa: S301 - made here
    assert np.array_equal(unpickled.linear.weights, model.linear.weights)  # stacked again when read back


@pytest.mark.parametrize("classes", [2, 4])
def test_the_flat_trees_give_what_the_boosted_trees_give_to_the_last_bit(classes):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(classes)
    features = rng.random((400, 12))
    labels = (features[:, 0] * classes + 0.3 * rng.standard_normal(400)).clip(0, classes - 1).astype(int)
    features[rng.random(features.shape) < 0.05] = np.nan  # missing values take their learned side
    boosted = HistGradientBoostingClassifier(max_iter=40, learning_rate=0.15, random_state=0).fit(features, labels)
    flat = FlatTrees(boosted)
    unseen = rng.random((50, 12))
    unseen[rng.random(unseen.shape) < 0.05] = np.nan
    assert np.array_equal(flat.predict_proba(unseen), boosted.predict_proba(unseen))
    assert np.array_equal(flat.predict_proba(unseen[3:4]), boosted.predict_proba(unseen[3:4]))
    assert list(flat.classes_) == list(boosted.classes_)


def test_the_model_reads_its_level_through_the_flat_trees_and_saves_them_once(model):
    head_probs = model.linear.predict_proba(model.features.transform([text for text, *_ in SMALL]))
    stacked = np.hstack([head_probs[name] for name in ("level", "harm", "who", "when")])
    assert np.array_equal(model.trees.predict_proba(stacked), model.combiner.predict_proba(stacked))
    assert "trees" not in model.__getstate__()
    unpickled = pickle.loads(pickle.dumps(model))  # noqa: S301 - made here
    assert np.array_equal(unpickled.trees.predict_proba(stacked), model.combiner.predict_proba(stacked))


def test_a_wide_combining_stage_reads_the_yes_no_level_heads_and_the_severity_heads(model):
    wide = RiskModel.train(_examples(repeat=5), load_default_lexicon(), folds=3, wide=True)
    assert wide.stacked_heads[:4] == HEADS
    assert {"at_or_above:concern", "at_or_above:high", "severity:means"} <= set(wide.stacked_heads)
    texts = [text for text, *_ in SMALL]
    head_probs = wide.linear.predict_proba(wide.features.transform(texts))
    stacked = np.hstack([head_probs[name] for name in wide.stacked_heads])
    assert wide.combiner.n_features_in_ == stacked.shape[1] > model.combiner.n_features_in_
    assert np.array_equal(wide.trees.predict_proba(stacked), wide.combiner.predict_proba(stacked))
    assert wide.read("bố em đang cầm dao đuổi em, em trốn trong nhà vệ sinh").level == "imminent"
    assert wide.read("chào bot, hôm nay trời đẹp quá").level == "none"
    unpickled = pickle.loads(pickle.dumps(wide))  # noqa: S301 - made here
    unpickled.features.lexicon = wide.features.lexicon  # as RiskModel.load sets it
    assert [r.probabilities for r in unpickled.read_many(texts)] == [r.probabilities for r in wide.read_many(texts)]


def test_a_model_saved_before_the_wide_stage_reads_the_four_heads(model):
    state = model.__getstate__()
    state.pop("stacked_heads", None)  # as pickled before the option existed
    older = RiskModel.__new__(RiskModel)
    older.__setstate__(state)
    texts = [text for text, *_ in SMALL]
    assert older.stacked_heads == HEADS
    assert [r.probabilities for r in older.read_many(texts)] == [r.probabilities for r in model.read_many(texts)]


def test_load_refuses_a_file_that_is_not_a_model(tmp_path):
    import pickle

    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(TypeError):
        RiskModel.load(path, load_default_lexicon())


# --------------------------------------------------------------------------- combination


def test_the_higher_reading_wins_and_the_rules_are_a_floor():
    rule = RiskAssessment("high", "disclose_sexual_abuse", ["lex:sexual_abuse:so cho kin"])
    assert combine(rule, _reading("none", harm="none")).level == "high"
    assert combine(rule, _reading("imminent")).level == "imminent"
    assert combine(RiskAssessment(), _reading("high")).level == "high"
    assert combine(rule, None) is rule


def test_category_comes_from_the_reading_that_set_the_level():
    rule = RiskAssessment("concern", "disclose_bullying", [])
    assert combine(rule, _reading("imminent", harm="physical")).category == "disclose_physical_abuse"
    assert combine(rule, _reading("high", who="other_child")).category == "report_third_party"
    assert combine(rule, _reading("concern", harm="neglect")).category == "disclose_bullying"


@pytest.mark.parametrize("who", ["story", "general"])
def test_a_clear_story_or_question_caps_the_rules_at_concern(who):
    rule = RiskAssessment("imminent", "disclose_physical_abuse", ["lex:physical_violence:danh em"])
    result = combine(rule, _reading("none", p=CLEAR_MODEL + 0.05, harm="none", who=who))
    assert result.level == "concern"
    assert "damp:model:no_harm" in result.signals


@pytest.mark.parametrize("p_none,who,p_who", [
    (CLEAR_MODEL - 0.05, "story", 0.95),  # the model is not sure nothing harmful is said
    (0.95, "story", 0.3),  # nor that it is a story (0.3 + 2 × 0.175 for general and none)
    (0.95, "self", 0.95),  # a child writing about themself: the rules stand
    (0.95, "none", 0.95),  # "about nobody" is also what the model says of words it never saw
])
def test_the_rules_stand_unless_the_model_is_clear(p_none, who, p_who):
    rule = RiskAssessment("high", "disclose_sexual_abuse", ["lex:sexual_abuse:so cho kin"])
    assert combine(rule, _reading("none", p=p_none, harm="none", who=who, p_who=p_who, when="none")).level == "high"


@pytest.mark.parametrize("when", ["over", "hypothetical"])
def test_harm_the_model_reads_as_over_caps_the_rules_at_concern(when):
    """A child's own past injury, now healed: the model reads no harm at all and none going on."""
    rule = RiskAssessment("high", "disclose_physical_abuse", ["lex:injury:gay tay"])
    result = combine(rule, _reading("none", p=0.97, harm="physical", who="self", when=when))
    assert result.level == "concern"
    assert "damp:model:no_harm" in result.signals


@pytest.mark.parametrize("level,p_none,who,when", [
    ("none", 0.97, "self", "now"),  # harm happening now: the rules stand
    ("none", 0.97, "self", "ongoing"),  # harm still going on
    ("none", 0.97, "none", "none"),  # words the model never saw: a miss, not a reading that harm is over
    ("concern", 0.75, "self", "over"),  # the model itself reads some harm
    ("none", CLEAR_MODEL - 0.05, "self", "over"),  # the model is not sure nothing harmful is said
])
def test_harm_going_on_or_a_model_in_doubt_leaves_the_rules(level, p_none, who, when):
    rule = RiskAssessment("high", "disclose_physical_abuse", ["lex:injury:gay tay"])
    assert combine(rule, _reading(level, p=p_none, harm="physical", who=who, when=when)).level == "high"


@pytest.mark.parametrize("rule", [
    RiskAssessment("imminent", "disclose_self_harm", ["lex:self_harm:tu tu"]),  # imminent rules stand
    RiskAssessment("imminent", "disclose_physical_abuse", ["intent:disclose_physical_abuse:0.9", "urgent:tối nay"]),
    RiskAssessment("high", "disclose_physical_abuse", ["lex:injury:gay tay", "urgent:bây giờ"]),
])
def test_a_model_reading_of_harm_over_never_lowers_imminent_or_urgent_rules(rule):
    assert combine(rule, _reading("none", p=0.97, who="self", when="over")).level == rule.level


@pytest.mark.parametrize("signal", ["lex:immediate_danger:sos", "emoji:🆘"])
def test_cries_for_help_stand_even_in_a_clear_story(signal):
    rule = RiskAssessment("imminent", None, [signal])
    assert combine(rule, _reading("none", p=0.99, harm="none", who="story", p_who=0.99)).level == "imminent"
    assert combine(rule, _reading("none", p=0.99, harm="none", who="self", when="over")).level == "imminent"


def test_the_rules_never_lower_the_model():
    rule = RiskAssessment("none", None, ["damp:story:tren bao", "damp:hyperbole:muon chet"])
    assert combine(rule, _reading("imminent", p=0.3)).level == "imminent"


def _faint(level: str, high_or_more: float) -> ModelReading:
    """A model reading of `level` whose P(high or more) is `high_or_more`, split evenly."""
    rest = (1 - high_or_more) / 2
    probabilities = {"none": rest, "concern": rest, "high": high_or_more / 2, "imminent": high_or_more / 2}
    return ModelReading(level, probabilities, {"harm": "physical", "who": "self", "when": "now"}, [], {})


@pytest.mark.parametrize("level", ["high", "imminent"])
def test_a_faint_model_reading_the_rules_do_not_back_counts_as_concern(level):
    result = combine(RiskAssessment(), _faint(level, LONE_MODEL_MIN - 0.02))
    assert result.level == "concern"
    assert "damp:model:unbacked" in result.signals
    assert result.category == "disclose_physical_abuse"


@pytest.mark.parametrize("rule", [
    RiskAssessment("concern", "disclose_bullying", ["intent:disclose_bullying:0.60"]),
    RiskAssessment("high", "disclose_physical_abuse", ["lex:physical_abuse:danh"]),
])
def test_a_faint_model_reading_stands_when_the_rules_read_any_harm(rule):
    assert combine(rule, _faint("imminent", LONE_MODEL_MIN - 0.02)).level == "imminent"


def test_the_two_keys_rule_can_be_turned_off(monkeypatch):
    faint = _faint("imminent", LONE_MODEL_MIN - 0.02)
    assert combine(RiskAssessment(), faint, lone_model_min=0.0).level == "imminent"
    # The setting read at each call, so a deployment (or a measurement) can turn it off in one place.
    import vietnlu.risk.combine as combination

    monkeypatch.setattr(combination, "LONE_MODEL_MIN", 0.0)
    assert combine(RiskAssessment(), faint).level == "imminent"


def test_a_model_reading_above_the_two_keys_minimum_stands_alone():
    assert combine(RiskAssessment(), _faint("imminent", LONE_MODEL_MIN + 0.02)).level == "imminent"
    assert combine(RiskAssessment(), _faint("high", LONE_MODEL_MIN + 0.02)).level == "high"


# --------------------------------------------------------------------------- the topic as a third key

QUESTION = ("faq", TOPIC_KEY_CONFIDENCE + 0.1)
SMALL_TALK = ("out_of_scope", 0.9)


@pytest.mark.parametrize("topic", [QUESTION, SMALL_TALK, ("greet", TOPIC_KEY_CONFIDENCE)])
@pytest.mark.parametrize("rule", [
    RiskAssessment(), RiskAssessment("concern", "disclose_bullying", ["lex:bullying:choc"]),
])
def test_a_model_reading_of_a_message_read_as_no_disclosure_needs_a_firmer_probability(topic, rule):
    faint = _faint("imminent", TOPIC_KEY_MODEL_MIN - 0.05)
    result = combine(rule, faint, topic=topic)
    assert result.level == "concern"
    assert "damp:model:topic" in result.signals
    assert combine(rule, _faint("imminent", TOPIC_KEY_MODEL_MIN + 0.05), topic=topic).level == "imminent"


@pytest.mark.parametrize("topic", [
    ("disclose_physical_abuse", 0.9),  # the topic classifiers read a disclosure too
    ("report_third_party", 0.6),
    ("out_of_scope", TOPIC_KEY_CONFIDENCE - 0.05),  # not sure enough
    ("nlu_fallback", 0.9),
    None,  # no topic classifier (the gateway while Rasa is down)
])
def test_the_topic_key_needs_a_sure_reading_of_no_disclosure(topic):
    assert combine(RiskAssessment(), _faint("imminent", TOPIC_KEY_MODEL_MIN - 0.05), topic=topic).level == "imminent"


@pytest.mark.parametrize("rule", [
    RiskAssessment("high", "disclose_physical_abuse", ["lex:physical_abuse:danh"]),
    RiskAssessment("imminent", None, ["lex:immediate_danger:cuu em"]),
])
def test_the_topic_key_never_lowers_what_the_rules_read_as_high(rule):
    result = combine(rule, _faint("imminent", TOPIC_KEY_MODEL_MIN - 0.05), topic=SMALL_TALK)
    assert result.level == "imminent"


# --------------------------------------------------------------------------- the topic as a key on the rules

RULES_HIGH = RiskAssessment("high", "disclose_physical_abuse", ["lex:physical_violence:đánh"])


@pytest.mark.parametrize("model_level", ["none", "concern"])
@pytest.mark.parametrize("topic", [QUESTION, SMALL_TALK, ("greet", TOPIC_KEY_CONFIDENCE)])
def test_a_high_reading_of_bare_words_that_neither_the_model_nor_the_topic_backs_counts_as_concern(model_level, topic):
    result = combine(RULES_HIGH, _reading(model_level, who="self", p_who=0.9), topic=topic)
    assert result.level == "concern"
    assert "damp:rules:topic" in result.signals
    assert result.category == "disclose_physical_abuse"


@pytest.mark.parametrize(("rule", "model_level", "topic"), [
    (RULES_HIGH, "high", SMALL_TALK),  # the model backs it
    (RULES_HIGH, "none", ("disclose_physical_abuse", 0.9)),  # the topic backs it
    (RULES_HIGH, "none", ("report_third_party", 0.6)),
    (RULES_HIGH, "none", ("out_of_scope", TOPIC_KEY_CONFIDENCE - 0.05)),  # not sure enough
    (RULES_HIGH, "none", ("nlu_fallback", 0.9)),
    (RULES_HIGH, "none", None),  # no topic classifier (the gateway while Rasa is down)
])
def test_the_topic_key_on_the_rules_needs_neither_the_model_nor_the_topic_to_back_the_reading(rule, model_level, topic):
    result = combine(rule, _reading(model_level, who="self", p_who=0.9), topic=topic)
    assert result.level == "high"
    assert "damp:rules:topic" not in result.signals


@pytest.mark.parametrize("rule", [
    RiskAssessment("imminent", "disclose_physical_abuse", ["lex:physical_violence:đánh", "urgent:đang"]),
    RiskAssessment("high", "disclose_self_harm", ["lex:self_harm:muốn chết"]),  # the lexicon reads it high
    RiskAssessment("high", "disclose_sexual_abuse", ["lex:sexual_abuse:sờ vùng kín"]),
    RiskAssessment("high", "disclose_physical_abuse", ["intent:disclose_physical_abuse:0.62"]),
    RiskAssessment("high", "disclose_neglect", ["lex:neglect:bỏ đói", "intent2:disclose_neglect:0.41"]),
    RiskAssessment("high", "disclose_self_harm", ["floor:disclose_self_harm:không muốn sống"]),
    RiskAssessment("high", None, ["lex:immediate_danger:cứu"]),
    RiskAssessment("high", None, ["emoji:🆘"]),
])
def test_the_topic_key_on_the_rules_leaves_imminent_and_backed_readings(rule):
    result = combine(rule, _reading("none", who="self", p_who=0.9), topic=SMALL_TALK)
    assert result.level == rule.level
    assert "damp:rules:topic" not in result.signals


@pytest.mark.parametrize("text", ["em muốn chết", "chú hàng xóm sờ vùng kín của em"])
def test_the_rules_own_reading_of_self_harm_or_sexual_abuse_stands_against_the_topic_key(text):
    rule = assess(text, None, 0.0)
    assert rule.level == "high"
    assert combine(rule, _reading("none", who="self", p_who=0.9), topic=SMALL_TALK).level == "high"


def test_signals_keep_both_readings():
    rule = RiskAssessment("concern", "disclose_bullying", ["intent:disclose_bullying:0.80"])
    result = combine(rule, _reading("high"))
    assert "intent:disclose_bullying:0.80" in result.signals
    assert any(signal.startswith("model:high:") for signal in result.signals)
