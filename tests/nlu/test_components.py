"""The Rasa graph components: the folding tokenizer and the risk assessor, built the way Rasa builds them."""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from vietnlu.components import RISK_KEY, RiskAssessor, TopicBlend, VietnameseTokenizer
from vietnlu.risk import LEVELS
from vietnlu.risk.model import ModelReading


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("model_storage"))


@pytest.fixture(scope="module")
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "1")


@pytest.fixture(scope="module")
def tokenizer(storage, context) -> VietnameseTokenizer:
    return VietnameseTokenizer.create(
        VietnameseTokenizer.get_default_config(), storage, Resource("tokenizer"), context
    )


@pytest.fixture(scope="module")
def assessor(storage, context) -> RiskAssessor:
    return RiskAssessor.create(RiskAssessor.get_default_config(), storage, Resource("risk"), context)


def _tokens(tokenizer: VietnameseTokenizer, text: str) -> list[tuple[str, int, int, Any]]:
    message = Message(data={"text": text})
    tokenizer.process([message])
    return [(t.text, t.start, t.end, t.lemma) for t in message.get("text_tokens")]


# ---------------------------------------------------------------------------------- tokenizer


def test_tokens_keep_surface_text_and_offsets(tokenizer):
    text = "Hum nay e ko đi học, bố đánh e"
    tokens = _tokens(tokenizer, text)
    assert [surface for surface, *_ in tokens] == ["Hum", "nay", "e", "ko", "đi", "học", "bố", "đánh", "e"]
    for surface, start, end, _ in tokens:
        assert text[start:end] == surface


def test_lemmas_are_folded_and_teencode_is_expanded(tokenizer):
    lemmas = [lemma for *_, lemma in _tokens(tokenizer, "Hum nay e ko đi học, bố đánh e")]
    assert lemmas == ["hom", "nai", "em", "khong", "di", "hoc", "bo", "danh", "em"]


def test_with_and_without_diacritics_give_the_same_lemmas(tokenizer):
    with_marks = [lemma for *_, lemma in _tokens(tokenizer, "Bố đánh em đau lắm")]
    without = [lemma for *_, lemma in _tokens(tokenizer, "bo danh e dau lam")]
    assert with_marks == without == ["bo", "danh", "em", "dau", "lam"]


def test_decomposed_input_gets_offsets_into_the_message_text(tokenizer):
    text = unicodedata.normalize("NFD", "Bố đánh em")
    tokens = _tokens(tokenizer, text)
    assert [lemma for *_, lemma in tokens] == ["bo", "danh", "em"]
    for surface, start, end, _ in tokens:
        assert text[start:end] == surface
    assert [unicodedata.normalize("NFC", surface) for surface, *_ in tokens] == ["Bố", "đánh", "em"]


def test_emoji_token_gets_a_word_lemma(tokenizer):
    text = "em buồn 😢"
    tokens = _tokens(tokenizer, text)
    assert tokens[-1] == ("😢", text.index("😢"), text.index("😢") + 1, "emoji1f622")
    assert tokens[-1][3].isalnum()


def test_punctuation_only_text_keeps_one_token(tokenizer):
    assert _tokens(tokenizer, "???") == [("???", 0, 3, "???")]


def test_tokenizer_can_use_another_lexicon_file(storage, context, tmp_path):
    path = tmp_path / "teencode.yml"
    path.write_text("teencode:\n  bme: bố mẹ\n", encoding="utf-8")
    config = {**VietnameseTokenizer.get_default_config(), "lexicon_path": str(path)}
    custom = VietnameseTokenizer.create(config, storage, Resource("custom_tokenizer"), context)
    assert [lemma for *_, lemma in _tokens(custom, "bme ko thương em")] == ["bo me", "ko", "thuong", "em"]


# ------------------------------------------------------------------------------ risk assessor


def _classified(text: str, intent: str, confidence: float, *others: tuple[str, float]) -> Message:
    ranking = [{"name": intent, "confidence": confidence}] + [
        {"name": name, "confidence": value} for name, value in others
    ]
    return Message(
        data={"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking}
    )


def test_imminent_danger_is_an_output_property(assessor):
    message = _classified(
        "cứu em với, bố đang đánh em chảy máu", "disclose_physical_abuse", 0.93, ("disclose_bullying", 0.04)
    )
    assessor.process([message])
    output = message.as_dict(only_output_properties=True)
    assert RISK_KEY in output
    risk = output[RISK_KEY]
    assert set(risk) >= {"level", "category", "signals"}
    assert risk["level"] == "imminent"
    assert risk["category"] == "disclose_physical_abuse"
    assert risk["signals"] and all(isinstance(signal, str) for signal in risk["signals"])


def test_a_greeting_has_no_risk(assessor):
    message = _classified("chào bạn nha", "greet", 0.97, ("thank", 0.01))
    assessor.process([message])
    risk = message.as_dict(only_output_properties=True)[RISK_KEY]
    assert risk["level"] == "none"
    assert risk["category"] is None


def test_a_faq_question_has_no_risk(assessor):
    message = _classified("số 111 là gì vậy ạ", "ask_hotline_111", 0.95)
    assessor.process([message])
    assert message.get(RISK_KEY)["level"] == "none"


def test_every_message_of_a_batch_gets_a_level(assessor):
    messages = [
        _classified("em muốn chết, em đang cầm dao cứa tay", "disclose_self_harm", 0.9),
        _classified("cảm ơn bạn nhiều", "thank", 0.98),
        Message(data={"text": "???"}),  # no intent at all: still a risk key
    ]
    assessor.process(messages)
    levels = [message.get(RISK_KEY)["level"] for message in messages]
    assert levels[0] == "imminent"
    assert levels[1:] == ["none", "none"]
    assert all(level in LEVELS for level in levels)


def _unknown_words_fallback(storage, context, tokenizer, examples: list[tuple[str, str]]):
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from vietnlu.components import UnknownWordsFallback

    training = TrainingData([Message(data={"text": text, "intent": intent}) for text, intent in examples])
    tokenizer.process_training_data(training)
    component = UnknownWordsFallback.create(
        {**UnknownWordsFallback.get_default_config()}, storage, Resource("unknown_words"), context
    )
    component.train(training)
    return UnknownWordsFallback.load(
        {**UnknownWordsFallback.get_default_config()}, storage, Resource("unknown_words"), context
    )


def _parsed(tokenizer, text: str, intent: str, risk_level: str = "none") -> Message:
    message = _classified(text, intent, 0.4)
    message.set(RISK_KEY, {"level": risk_level, "category": None, "signals": []})
    tokenizer.process([message])
    return message


def test_unknown_words_become_a_fallback_and_known_words_do_not(storage, context, tokenizer):
    fallback = _unknown_words_fallback(
        storage, context, tokenizer,
        [("chào bạn nhé", "greet"), ("số 111 là gì", "ask_hotline_111"), ("dạ vâng ạ", "affirm")],
    )
    gibberish = _parsed(tokenizer, "qwrtp zxcvb mnbvc", "affirm")
    known = _parsed(tokenizer, "chao ban", "greet")
    fallback.process([gibberish, known])
    assert gibberish.get("intent")["name"] == "nlu_fallback"
    assert gibberish.get("intent_ranking")[1]["name"] == "affirm"
    assert known.get("intent")["name"] == "greet"


def test_a_message_with_risk_is_never_turned_into_a_fallback(storage, context, tokenizer):
    fallback = _unknown_words_fallback(storage, context, tokenizer, [("chào bạn nhé", "greet")])
    risky = _parsed(tokenizer, "qwrtp zxcvb mnbvc", "disclose_self_harm", risk_level="high")
    fallback.process([risky])
    assert risky.get("intent")["name"] == "disclose_self_harm"


# ---------------------------------------------------------------------------------- learned risk model

def _write_small_corpus(folder: Path) -> None:
    import json

    from tests.nlu.test_risk_model import SMALL

    lines = [json.dumps({"text": text, "topic": "out_of_scope", "risk": level, "harm": harm, "who": who,
                         "when": when, "severity": []}, ensure_ascii=False)
             for _ in range(3) for text, level, harm, who, when in SMALL]
    (folder / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_risk_assessor_trains_saves_loads_and_reads_with_the_model(storage, context, tmp_path):
    from rasa.shared.nlu.training_data.training_data import TrainingData

    _write_small_corpus(tmp_path)
    config = {**RiskAssessor.get_default_config(), "risk_corpus": str(tmp_path)}  # one path, not a list
    trainer = RiskAssessor.create(config, storage, Resource("trained_risk"), context)
    training = TrainingData([Message(data={"text": "xin chào bot", "intent": "greet"}),
                             Message(data={"text": "bố đánh em", "intent": "disclose_physical_abuse"})])
    trainer.train(training)
    loaded = RiskAssessor.load(config, storage, Resource("trained_risk"), context)
    assert loaded.model is not None
    message = _classified("em đếm đủ 30 viên thuốc rồi, tối nay em uống hết", "out_of_scope", 0.9)
    loaded.process([message])
    risk = message.get(RISK_KEY)
    assert risk["level"] == "imminent"
    assert any(signal.startswith("model:imminent:") for signal in risk["signals"])


def test_a_failing_model_leaves_the_rules_reading(assessor, caplog, monkeypatch):
    class Broken:
        def read_many(self, texts):
            raise RuntimeError("boom")

    monkeypatch.setattr(assessor, "model", Broken())
    message = _classified("cứu em với, bố em đang đánh em", "out_of_scope", 0.9)
    assessor.process([message])
    assert message.get(RISK_KEY)["level"] == "imminent"
    assert "RuntimeError" in caplog.text and "bố em" not in caplog.text


def _reading_of_harm(harm: dict[str, float]) -> ModelReading:
    probabilities = {"none": 0.1, "concern": 0.2, "high": 0.6, "imminent": 0.1}
    return ModelReading("high", probabilities, {"harm": max(harm, key=harm.get), "who": "self", "when": "ongoing"},
                        [], {"self": 0.9}, harm)


@pytest.mark.parametrize(("weight", "expected"), [(0.3, "disclose_sexual_abuse"), (0.0, "disclose_online_abuse")])
def test_the_model_s_harm_reading_chooses_among_close_disclosure_topics(assessor, weight, expected, monkeypatch):
    class Reading:
        def read_many(self, texts):
            return [_reading_of_harm({"sexual": 0.9, "online": 0.05, "none": 0.05}) for _ in texts]

    monkeypatch.setattr(assessor, "model", Reading())
    monkeypatch.setitem(assessor.component_config, "harm_topic_weight", weight)
    message = _classified("anh ấy bắt em làm chuyện đó", "disclose_online_abuse", 0.5, ("disclose_sexual_abuse", 0.4))
    assessor.process([message])
    assert message.get("intent")["name"] == expected
    assert message.get("intent")["confidence"] == 0.5
    assert message.get("intent_ranking")[0]["name"] == expected
    assert message.get(RISK_KEY)["category"] == expected  # the case is filed as the child was answered


def test_a_case_category_that_is_not_a_self_disclosure_stays(assessor, monkeypatch):
    class Reading:
        def read_many(self, texts):
            return [_reading_of_harm({"physical": 0.9, "none": 0.1}) for _ in texts]

    monkeypatch.setattr(assessor, "model", Reading())
    message = _classified("bạn em bị bố nó đánh chảy máu đầu", "report_third_party", 0.8)
    assessor.process([message])
    assert message.get("intent")["name"] == "report_third_party"
    assert message.get(RISK_KEY)["category"] in ("report_third_party", "disclose_physical_abuse")
    assert not any(signal.startswith("category:") for signal in message.get(RISK_KEY)["signals"])


def test_a_missing_model_file_leaves_the_rules_reading(storage, context):
    loaded = RiskAssessor.load(RiskAssessor.get_default_config(), storage, Resource("never_trained"), context)
    assert loaded.model is None


def test_the_fingerprint_follows_the_corpus(tmp_path):
    _write_small_corpus(tmp_path)
    config = {**RiskAssessor.get_default_config(), "risk_corpus": [str(tmp_path)]}
    before = RiskAssessor.fingerprint_addon(config)
    (tmp_path / "more.jsonl").write_text('{"text": "chào", "risk": "none"}\n', encoding="utf-8")
    assert RiskAssessor.fingerprint_addon(config) != before


# ---------------------------------------------------------------------------------- topics

def _topic_training() -> Any:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = [("chào bot", "greet"), ("xin chào bạn", "greet"), ("hello bot ơi", "greet"),
                ("bị bạn bè bắt nạt ở trường", "disclose_bullying"), ("tụi nó bully em hoài", "disclose_bullying"),
                ("em bị bạn cùng lớp chọc ghẹo", "disclose_bullying"),
                ("111 là số gì", "ask_hotline_111"), ("gọi 111 có mất tiền không", "ask_hotline_111"),
                ("tổng đài 111 làm gì", "ask_hotline_111")]
    return TrainingData([Message(data={"text": text, "intent": intent}) for text, intent in examples])


def test_topic_blend_trains_saves_loads_and_weighs_the_rankings(storage, context):
    config = TopicBlend.get_default_config()
    TopicBlend.create(config, storage, Resource("topics"), context).train(_topic_training())
    blend = TopicBlend.load(config, storage, Resource("topics"), context)
    assert blend.model is not None
    # The classifier is unsure between two topics; the linear model knows "bully".
    message = _classified("tụi nó bully em", "greet", 0.5, ("disclose_bullying", 0.45), ("nlu_fallback", 0.05))
    blend.process([message])
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "disclose_bullying" == ranking[0]["name"]
    assert "nlu_fallback" not in [item["name"] for item in ranking]
    linear = blend.model.rank("tụi nó bully em")
    weight = config["classifier_weight"]
    expected = weight * 0.45 + (1 - weight) * linear["disclose_bullying"]
    assert message.get("intent")["confidence"] == pytest.approx(expected)
    confidences = [item["confidence"] for item in ranking]
    assert confidences == sorted(confidences, reverse=True)


def test_topic_blend_without_a_model_keeps_the_classifier_ranking(storage, context):
    blend = TopicBlend.load(TopicBlend.get_default_config(), storage, Resource("never_trained_topics"), context)
    assert blend.model is None
    message = _classified("chào", "greet", 0.9, ("thank", 0.1))
    blend.process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 0.9}


def test_a_failing_topic_model_keeps_the_classifier_ranking(storage, context, caplog):
    class Broken:
        def rank_many(self, texts):
            raise RuntimeError("boom")

    blend = TopicBlend(TopicBlend.get_default_config(), model=Broken())
    message = _classified("bố đánh em", "disclose_physical_abuse", 0.8)
    blend.process([message])
    assert message.get("intent")["name"] == "disclose_physical_abuse"
    assert "RuntimeError" in caplog.text and "bố đánh" not in caplog.text


def test_one_clear_disclosure_sentence_decides_a_story(storage, context):
    config = TopicBlend.get_default_config()
    TopicBlend.create(config, storage, Resource("story_topics"), context).train(_topic_training())
    blend = TopicBlend.load(config, storage, Resource("story_topics"), context)
    story = "chào bot nha. hôm nay em đi học về. tụi nó bully em hoài, em bị bạn cùng lớp chọc ghẹo"
    message = _classified(story, "greet", 0.9, ("disclose_bullying", 0.05), ("ask_hotline_111", 0.05))
    blend.process([message])
    assert message.get("intent")["name"] == "disclose_bullying"
    one_sentence = _classified("chào bot nha", "greet", 0.9, ("disclose_bullying", 0.05))
    blend.process([one_sentence])
    assert one_sentence.get("intent")["name"] == "greet"


def test_without_a_classifier_ranking_the_linear_model_answers_at_full_weight(storage, context):
    config = TopicBlend.get_default_config()
    TopicBlend.create(config, storage, Resource("alone_topics"), context).train(_topic_training())
    blend = TopicBlend.load(config, storage, Resource("alone_topics"), context)
    message = Message(data={"text": "tụi nó bully em"})
    blend.process([message])
    expected = blend.model.rank("tụi nó bully em")["disclose_bullying"]
    assert message.get("intent") == {"name": "disclose_bullying", "confidence": pytest.approx(expected)}


def test_the_risk_rules_read_the_classifier_s_own_ranking_not_the_blend(storage, context, assessor):
    """The blend may change the topic; it never lowers what the rules read from the classifier."""

    class Doubtful:  # a linear model that has never seen these words
        def rank_many(self, texts):
            return [{"out_of_scope": 1.0} for _ in texts]

    blend = TopicBlend(TopicBlend.get_default_config(), model=Doubtful())
    alone = _classified("tối nay em uống hết lọ thuốc ngủ", "disclose_self_harm", 0.6, ("out_of_scope", 0.4))
    blended = _classified("tối nay em uống hết lọ thuốc ngủ", "disclose_self_harm", 0.6, ("out_of_scope", 0.4))
    blend.process([blended])
    assert blended.get("intent")["name"] == "out_of_scope"  # the blend changed the topic
    assessor.process([alone])
    assessor.process([blended])
    assert blended.get(RISK_KEY)["level"] == alone.get(RISK_KEY)["level"] == "imminent"
    assert "classifier_intent_ranking" not in blended.as_dict(only_output_properties=True)
