"""A sparse linear topic model read beside DIET.

Word 1–3-grams and character 2–5-grams of the folded, teencode-expanded text (the features of
the risk model) and one logistic regression over every topic. DIET learns dense combinations of
the same counts; the linear model keeps every n-gram's own weight, which holds better on long
stories, English words and spellings DIET saw only a few times (docs/risk.md has the comparison).

    model = TopicModel.train(texts, topics, lexicon)
    model.rank("e bi bully o truong")   # {"disclose_bullying": 0.71, ...}
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vietnlu.lexicon import Lexicon
from vietnlu.risk.combine import HARM_TOPICS
from vietnlu.risk.model import TRAINING_SOURCES, NgramFeatures, ReadsThroughLinearHeads, read_trained


def disclosure_by_harm(ranking: Sequence[tuple[str, float]], harm: dict[str, float],
                       weight: float) -> list[tuple[str, float]]:
    """A self-disclosure topic chosen again with the risk model's harm head.

    When the top topic is a self-disclosure, each of the six is scored (1 - weight) × its
    confidence + weight × P(its harm): the harm head was trained on the risk corpus' harm labels
    alone, so it separates sexual from online abuse, or a beating from bullying, where the topic
    classifiers confuse them. The chosen topic takes the top confidence (the fallback threshold
    reads it as before); other topics and rankings are left as they are.
    """
    if not ranking or ranking[0][0] not in HARM_TOPICS.values() or not harm or weight <= 0:
        return list(ranking)
    confidence = dict(ranking)
    best = max(HARM_TOPICS, key=lambda name: (1 - weight) * confidence.get(HARM_TOPICS[name], 0.0)
               + weight * harm.get(name, 0.0))
    return promoted(ranking, HARM_TOPICS[best])


def promoted(ranking: Sequence[tuple[str, float]], topic: str) -> list[tuple[str, float]]:
    """`topic` first with the top confidence; the former top takes `topic`'s confidence (0 if it was
    not ranked), and the rest keep theirs, in order."""
    top, top_confidence = ranking[0]
    if topic == top:
        return list(ranking)
    found = dict(ranking).get(topic, 0.0)
    rest = [(name, found if name == top else value) for name, value in ranking if name != topic]
    return [(topic, top_confidence)] + sorted(rest, key=lambda item: item[1], reverse=True)


class TopicModel(ReadsThroughLinearHeads):
    """Topic probabilities from n-grams of the folded text."""

    def __init__(self, features: NgramFeatures, classifier: Any) -> None:
        self.features = features
        self.classifier = classifier
        self.stack_heads()

    def linear_heads(self) -> dict[str, Any]:
        return {"topic": self.classifier}

    @classmethod
    def train(cls, texts: Sequence[str], topics: Sequence[str], lexicon: Lexicon, *, seed: int = 2016) -> TopicModel:
        from sklearn.linear_model import LogisticRegression

        features = NgramFeatures(lexicon)
        matrix = features.fit_transform(texts)
        classifier = LogisticRegression(C=8.0, max_iter=3000, random_state=seed).fit(matrix, list(topics))
        return cls(features, classifier)

    def rank_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        probabilities = self.linear.predict_proba(self.features.transform(texts))["topic"]
        names = [str(name) for name in self.classifier.classes_]
        return [dict(zip(names, (float(p) for p in row), strict=True)) for row in probabilities]

    def rank(self, text: str) -> dict[str, float]:
        return self.rank_many([text])[0]

    def save(self, path: Path | str) -> None:
        Path(path).write_bytes(pickle.dumps(self))

    @classmethod
    def load(cls, path: Path | str, lexicon: Lexicon) -> TopicModel:
        return read_trained(path, cls, lexicon)


# The files whose change must retrain the topic model (Rasa's cache cannot see them): the
# n-gram features live in the risk model's module.
TOPIC_SOURCES = (*TRAINING_SOURCES, Path(__file__).resolve())
