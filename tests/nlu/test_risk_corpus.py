"""The risk corpus (data/risk) follows the label contract, and no evaluation set leaks into training."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from vietnlu.lexicon import load_default_lexicon
from vietnlu.risk import LEVELS
from vietnlu.risk.model import FACTORS, SEVERITIES, load_corpus

ROOT = Path(__file__).resolve().parents[2]

CORPUS = ROOT / "data" / "risk"
BLIND = ROOT / "tests" / "nlu" / "blind"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
TOPICS = {intent if isinstance(intent, str) else next(iter(intent))
          for intent in yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]}
FACTOR_VALUES = {
    "harm": {"sexual", "physical", "online", "bullying", "neglect", "self_harm", "none"},
    "who": {"self", "other_child", "general", "story", "none"},
    "when": {"now", "ongoing", "over", "hypothetical", "none"},
}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


MESSAGES = [row for path in sorted(CORPUS.glob("*.jsonl")) for row in _rows(path) if "text" in row]
CONVERSATIONS = [row for path in sorted(CORPUS.glob("*.jsonl")) for row in _rows(path) if "messages" in row]


def test_every_message_has_a_topic_level_and_factors_from_the_contract():
    bad = [
        row["text"] for row in MESSAGES
        if row.get("topic") not in TOPICS or row.get("risk") not in LEVELS
        or any(row.get(name) not in FACTOR_VALUES[name] for name in FACTORS)
        or any(s not in SEVERITIES for s in row.get("severity") or [])
    ]
    assert bad == []


def test_the_corpus_is_large_and_covers_every_level_and_hard_negatives():
    levels = Counter(row["risk"] for row in MESSAGES)
    assert len(MESSAGES) >= 3000
    assert min(levels.values()) >= 300
    hard_negatives = [row for row in MESSAGES if row["risk"] == "none" and row.get("harm") != "none"
                      or row["risk"] == "none" and row.get("who") in ("story", "general")]
    assert len(hard_negatives) >= 800


def test_no_text_is_labelled_twice():
    """Not even as the same folded sentence ("bố đánh em" and "bo danh e" are one to the model)."""
    lexicon = load_default_lexicon()
    counts = Counter(lexicon.normalise(row["text"]) for row in MESSAGES)
    assert [text for text, count in counts.items() if count > 1] == []


def test_conversations_name_both_readings():
    assert len(CONVERSATIONS) >= 100
    for row in CONVERSATIONS:
        assert 2 <= len(row["messages"]) <= 4
        assert row["risk_last_alone"] in LEVELS and row["risk_in_context"] in LEVELS


@pytest.mark.parametrize("evaluation", sorted(BLIND.glob("*.jsonl")) + ([DEV] if DEV.exists() else []),
                         ids=lambda path: path.stem)
def test_no_evaluation_message_is_in_the_training_data(evaluation):
    """Blind sets and the dev set are never trained on: not in the corpus, not in data/nlu."""
    lexicon = load_default_lexicon()
    trained = {lexicon.normalise(example.text) for example in load_corpus([CORPUS])}
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    trained.add(lexicon.normalise(line.strip()[2:]))
    leaked = [row["text"] for row in _rows(evaluation) if lexicon.normalise(row["text"]) in trained]
    # Short greetings, answers and cries ("ok", "chào bot", "em muốn chết") are bound to coincide.
    assert [text for text in leaked if len(lexicon.normalise(text).split()) > 3] == []
