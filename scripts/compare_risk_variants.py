"""Score variants of the learned risk model inside the whole pipeline, against the shipped one.

    .venv-rasa/bin/python scripts/compare_risk_variants.py train NAME [--extra FILE.jsonl ...]
        [--only-levels none,concern] [--c 8.0]
    .venv-rasa/bin/python scripts/compare_risk_variants.py score NAME [NAME ...]
        [--model models/current.tar.gz] [--sets SET.jsonl ...] [--two-keys T ...]

`train` fits a RiskModel exactly as `rasa train` does (the risk corpus plus the training data's
non-disclosure examples from build/nlu/augmented.yml as harmless), with extra corpus files (for
example only their lines of some levels) or another regularisation, and keeps it under
build/risk_variants/NAME.pkl. `score` loads the trained Rasa model once and, for each variant
("shipped" is the model inside the archive), puts the variant in the RiskAssessor's place and
reads every set through the whole pipeline (topic, rules, model, combination). Only figures are
printed: blind sets' lines are not to be studied. `--two-keys T` also scores each variant with
the rule that a model reading of high or more counts as concern when the rules read no harm at
all and P(high or more) < T, applied to the parse results (to measure it on its own, turn the
shipped form of that rule off with `--lone-model-min 0`; docs/risk.md, "What was tried").
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from compare_risk_features import figures, harmless_nlu_examples  # noqa: E402

from vietnlu.lexicon import load_default_lexicon  # noqa: E402
from vietnlu.risk import DISCLOSURE_TOPICS, LEVELS  # noqa: E402
from vietnlu.risk import model as risk_model  # noqa: E402
from vietnlu.risk.combine import HARM_TOPICS, RULES_KEEP_HIGH, read_as_no_disclosure  # noqa: E402
from vietnlu.risk.model import DEFAULT_RISK_CORPUS_PATH, RiskExample, RiskModel, load_corpus  # noqa: E402
from vietnlu.topics import disclosure_by_harm  # noqa: E402

VARIANTS = ROOT / "build" / "risk_variants"
AUGMENTED = ROOT / "build" / "nlu" / "augmented.yml"
SCORER = ROOT.parent / "shared" / "eval" / "score.py"
SEED = 2016


def training_examples(extra: list[Path], only_levels: set[str] | None) -> list[RiskExample]:
    """What RiskAssessor.train reads, plus the extra files' lines (of the given levels)."""
    examples = load_corpus([DEFAULT_RISK_CORPUS_PATH])
    added = [e for e in load_corpus(extra) if only_levels is None or e.level in only_levels]
    examples += added
    examples += harmless_nlu_examples([AUGMENTED], {e.text for e in examples})
    print(f"training messages: {len(examples)} ({len(added)} from the extra files)")
    return examples


def train(args: argparse.Namespace) -> None:
    only = set(args.only_levels.split(",")) if args.only_levels else None
    examples = training_examples(args.extra, only)
    if args.c is not None:
        from sklearn.linear_model import LogisticRegression

        risk_model._classifier = lambda seed: LogisticRegression(  # type: ignore[assignment]
            C=args.c, max_iter=3000, class_weight="balanced", random_state=seed)
    if args.combiner_leaves is not None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        risk_model._combiner = lambda seed: HistGradientBoostingClassifier(  # type: ignore[assignment]
            max_iter=60, learning_rate=0.15, max_leaf_nodes=args.combiner_leaves, min_samples_leaf=40,
            l2_regularization=1.0, random_state=seed)
    started = time.perf_counter()
    model = RiskModel.train(examples, load_default_lexicon(), seed=SEED,
                            hard_negative_weight=args.hard_negative_weight,
                            rule_evidence=args.rule_evidence, wide=args.wide)
    print(f"trained in {time.perf_counter() - started:.0f} s; thresholds {model.thresholds}")
    VARIANTS.mkdir(parents=True, exist_ok=True)
    model.save(VARIANTS / f"{args.name}.pkl")


RULES_MARK = "experiment:rules="


def _mark_rule_level() -> None:
    """Keep the rules' own level among the signals, for the two-keys rule (this script only)."""
    import vietnlu.components as components

    original = components.combine

    def marked(rule: Any, reading: Any, **options: Any) -> Any:
        combined = original(rule, reading, **options)
        combined.signals.append(f"{RULES_MARK}{rule.level}")
        return combined

    components.combine = marked  # type: ignore[assignment]


def _two_keys(result: dict, threshold: float, rules_up_to: str = "none") -> str:
    """The two-keys rule on a parse result: a model reading of high or more, where the rules read
    no more than `rules_up_to`, needs P(high or more) ≥ T."""
    risk = result["risk"]
    level = risk["level"]
    signals = risk.get("signals") or []
    rule_levels = LEVELS[: LEVELS.index(rules_up_to) + 1]
    if LEVELS.index(level) < 2 or not any(f"{RULES_MARK}{r}" in signals for r in rule_levels):
        return level
    high_plus = _model_high_or_more(signals)
    return level if high_plus is None or high_plus >= threshold else "concern"


def _model_high_or_more(signals: list[str]) -> float | None:
    """The model's P(high or more), from its level signal (`model:<level>:n=…,c=…,h=…,i=…`)."""
    model = next((s for s in signals if s.startswith(tuple(f"model:{name}:" for name in LEVELS))), "")
    if not model:
        return None
    parts = dict(p.split("=") for p in model.split(":", 2)[2].split(","))
    return float(parts.get("h", 0)) + float(parts.get("i", 0))


def _topic_key(result: dict, threshold: float, confidence: float) -> str:
    """A third key from the topic: a high or more reading that the rules do not read as high,
    of a message the topic classifiers read as small talk, a question or conversation with at
    least `confidence`, needs P(high or more) >= T."""
    risk = result["risk"]
    level = risk["level"]
    signals = risk.get("signals") or []
    if LEVELS.index(level) < 2 or any(f"{RULES_MARK}{r}" in signals for r in ("high", "imminent")):
        return level
    if not _read_as_no_disclosure(result, confidence):
        return level
    high_plus = _model_high_or_more(signals)
    return level if high_plus is None or high_plus >= threshold else "concern"


def _read_as_no_disclosure(result: dict, confidence: float) -> bool:
    """Whether the topic classifiers read the message as no disclosure, at `confidence` or more."""
    intent = result.get("intent") or {}
    return read_as_no_disclosure((intent.get("name") or "", float(intent.get("confidence") or 0.0)), confidence)


def _model_level(signals: list[str]) -> str | None:
    """The model's own level, from its level signal (`model:<level>:n=…`)."""
    return next((s.split(":")[1] for s in signals if s.startswith(tuple(f"model:{n}:" for n in LEVELS))), None)


def _rules_topic_key(result: dict, confidence: float, model_up_to: str = "concern") -> str:
    """The topic as a key on the rules (`_rules_unbacked` in combine.py) on a parse result: a high
    reading of the rules that no signal of `RULES_KEEP_HIGH` backs and the model reads as no more
    than `model_up_to`, of a message the topic classifiers read as small talk, a question or
    conversation with at least `confidence`, counts as concern. Score it with `--rules-topic-off`,
    or the shipped rule has already acted."""
    risk = result["risk"]
    level = risk["level"]
    signals = risk.get("signals") or []
    if level != "high" or f"{RULES_MARK}high" not in signals:
        return level
    if any(s.startswith(RULES_KEEP_HIGH) for s in signals):
        return level
    model = _model_level(signals)
    if model is None or LEVELS.index(model) > LEVELS.index(model_up_to):
        return level
    return "concern" if _read_as_no_disclosure(result, confidence) else level


def _consistent_topic(result: dict) -> dict:
    """A message read as no risk at all takes the best topic that is not a disclosure."""
    intent = (result.get("intent") or {}).get("name")
    if result["risk"]["level"] != "none" or intent not in DISCLOSURE_TOPICS:
        return result
    for item in result.get("intent_ranking") or []:
        if item.get("name") not in DISCLOSURE_TOPICS and item.get("name") != "nlu_fallback":
            return {**result, "intent": item}
    return result


def _factor_probabilities(model: RiskModel, texts: list[str]) -> list[dict[str, dict[str, float]]]:
    """The harm and who heads' probabilities for each text."""
    return [{"harm": reading.harm, "who": reading.who} for reading in model.read_many(texts)]


def _factor_topic(result: dict, factors: dict[str, dict[str, float]], harm_weight: float,
                  who_min: float | None) -> dict:
    """A disclosure topic re-read with the model's factor heads: among the six self-disclosure topics
    as the pipeline does with `harm_topic_weight` (vietnlu.topics.disclosure_by_harm); with `who_min`,
    a self-disclosure the who head reads as about another child at P >= who_min becomes
    report_third_party, and a report_third_party it reads as about the writer becomes the
    self-disclosure of the harm the harm head reads."""
    intent = (result.get("intent") or {}).get("name")
    if intent not in DISCLOSURE_TOPICS:
        return result
    ranking = [(item["name"], item.get("confidence", 0.0)) for item in result.get("intent_ranking") or []]
    if ranking and ranking[0][0] != intent:  # the fallback's own entry leads the ranking
        ranking = [(intent, result["intent"].get("confidence", 0.0))] + [r for r in ranking if r[0] != intent]
    chosen = disclosure_by_harm(ranking, factors["harm"], harm_weight)[0][0]
    if who_min is not None:
        if chosen != "report_third_party" and factors["who"].get("other_child", 0.0) >= who_min:
            chosen = "report_third_party"
        elif chosen == "report_third_party" and factors["who"].get("self", 0.0) >= who_min:
            harm = max(HARM_TOPICS, key=lambda name: factors["harm"].get(name, 0.0))
            chosen = HARM_TOPICS[harm]
    if chosen == intent:
        return result
    return {**result, "intent": {"name": chosen, "confidence": dict(ranking).get(chosen, 0.0)}}


def _risk_led_topic(result: dict, factors: dict[str, dict[str, float]], min_level: str) -> dict:
    """A message read as out_of_scope (or fallen back) whose risk is `min_level` or more takes the
    disclosure topic the factor heads read: report_third_party when the who head reads another child
    most likely, the self-disclosure of its likeliest harm when it reads the writer, and nothing moves
    when it reads a question or a story."""
    intent = (result.get("intent") or {}).get("name")
    if intent not in ("out_of_scope", "nlu_fallback") or not factors["harm"] \
            or LEVELS.index(result["risk"]["level"]) < LEVELS.index(min_level):
        return result
    who = max(factors["who"], key=lambda name: factors["who"][name]) if factors["who"] else "self"
    if who == "other_child":
        chosen = "report_third_party"
    elif who == "self":
        chosen = HARM_TOPICS[max(HARM_TOPICS, key=lambda name: factors["harm"].get(name, 0.0))]
    else:  # a question or a story: not a disclosure
        return result
    return {**result, "intent": {"name": chosen, "confidence": 0.0}, "response_selector": {}}


def _figures(rows: list[dict], levels: list[str], topics: list[str]) -> dict[str, float]:
    """The risk figures of compare_risk_features, plus false alarms at any level and topic accuracy."""
    gold = [r["risk"] for r in rows]
    harmless = [p for g, p in zip(gold, levels, strict=True) if g == "none"]
    return {
        **figures(gold, levels),
        "false_alarm_any": sum(LEVELS.index(p) >= 1 for p in harmless) / max(1, len(harmless)),
        "topic_accuracy": sum(t == r["topic"] for r, t in zip(rows, topics, strict=True)) / len(rows),
    }


def _false_alarm_sources(rows: list[dict], results: list[dict]) -> dict[str, float]:
    """How many harmless messages read high or more were so read by the rules alone, by the
    model alone, or by both (counts, not lines)."""
    counts = Counter()
    for row, body in zip(rows, results, strict=True):
        signals = body["risk"].get("signals") or []
        if row["risk"] != "none" or LEVELS.index(body["risk"]["level"]) < 2:
            continue
        rules = next((s.removeprefix(RULES_MARK) for s in signals if s.startswith(RULES_MARK)), "none")
        model = _model_level(signals) or "none"
        by_rules, by_model = LEVELS.index(rules) >= 2, LEVELS.index(model) >= 2
        counts["fa_both" if by_rules and by_model else "fa_rules_only" if by_rules else "fa_model_only"] += 1
        counts["fa_gold_" + _topic_group(row["topic"])] += 1
        counts["fa_read_" + _topic_group((body.get("intent") or {}).get("name") or "")] += 1
    names = ["fa_rules_only", "fa_model_only", "fa_both"]
    names += [f"fa_{side}_{group}" for side in ("gold", "read") for group in TOPIC_GROUPS]
    return {name: float(counts[name]) for name in names}


TOPIC_GROUPS = ("faq", "out_of_scope", "conversation", "disclosure")


def _topic_group(topic: str) -> str:
    """Which kind of topic a topic is: a question, small talk, conversation or a disclosure."""
    if topic.startswith(("faq", "ask_")):
        return "faq"
    if topic.startswith("disclose_") or topic == "report_third_party":
        return "disclosure"
    return "out_of_scope" if topic in ("out_of_scope", "nlu_fallback") else "conversation"


def _load_scorer() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("score", SCORER)
    scorer = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(scorer)  # type: ignore[union-attr]
    return scorer


def _component(agent: Any, kind: type) -> Any:
    for node in agent.processor.graph_runner._instantiated_nodes.values():
        if isinstance(node._component, kind):
            return node._component
    raise SystemExit(f"no {kind.__name__} in the model")


def _score_set(agent: Any, scorer: Any, rows: list[dict], label: str, args: argparse.Namespace,
               table: dict, confusions: Counter) -> None:
    """Every figure of one variant on one set, and those of the post-hoc rules asked for."""
    set_name = rows[0]["_set"]
    results = [asyncio.run(agent.parse_message(r["text"])) for r in rows]
    topics = [scorer.predicted_topic(body) for body in results]
    levels = [scorer.predicted_risk(body) for body in results]
    table.setdefault(label, {})[set_name] = _figures(rows, levels, topics)
    if args.sources:
        table[label][set_name].update(_false_alarm_sources(rows, results))
    if args.topic_consistency:
        consistent = [scorer.predicted_topic(_consistent_topic(body)) for body in results]
        table.setdefault(f"{label}+consistent", {})[set_name] = _figures(rows, levels, consistent)
    if args.harm_topic or args.who_topic or args.risk_topic:
        factors = _factor_probabilities(args.assessor.model, [r["text"] for r in rows])
    for min_level in args.risk_topic:
        moved = [scorer.predicted_topic(_risk_led_topic(body, f, min_level))
                 for body, f in zip(results, factors, strict=True)]
        table.setdefault(f"{label}+risktopic:{min_level}", {})[set_name] = _figures(rows, levels, moved)
    if args.harm_topic or args.who_topic:
        for weight in args.harm_topic or [0.0]:
            for who_min in [None, *args.who_topic]:
                moved = [scorer.predicted_topic(_factor_topic(body, f, weight, who_min))
                         for body, f in zip(results, factors, strict=True)]
                key = f"{label}+harm{weight}" + ("" if who_min is None else f"+who{who_min}")
                table.setdefault(key, {})[set_name] = _figures(rows, levels, moved)
    if args.confusions and set_name != "dev":
        confusions.update((r["topic"], t) for r, t in zip(rows, topics, strict=True) if r["topic"] != t)
    for pair in args.topic_key:
        threshold, confidence = (float(x) for x in pair.split(":"))
        keyed = [_topic_key(body, threshold, confidence) for body in results]
        table.setdefault(f"{label}+topickey{pair}", {})[set_name] = _figures(rows, keyed, topics)
    for confidence in args.rules_topic_key:
        for model_up_to in ("none", "concern"):
            keyed = [_rules_topic_key(body, confidence, model_up_to) for body in results]
            table.setdefault(f"{label}+rulestopic{confidence}:{model_up_to}", {})[set_name] = \
                _figures(rows, keyed, topics)
    for threshold in args.two_keys:
        keyed = [_two_keys(body, threshold) for body in results]
        table.setdefault(f"{label}+2keys{threshold}", {})[set_name] = _figures(rows, keyed, topics)
        if args.two_keys_concern:
            keyed = [_two_keys(body, threshold, "concern") for body in results]
            table.setdefault(f"{label}+2keys{threshold}c", {})[set_name] = _figures(rows, keyed, topics)


def score(args: argparse.Namespace) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from vietnlu.components import RiskAssessor, TopicBlend

    configure_structlog(logging.WARNING)  # Rasa's debug log would print the messages read
    import vietnlu.risk.combine as combination

    if args.lone_model_min is not None:
        combination.LONE_MODEL_MIN = args.lone_model_min
    if args.clear_model is not None:
        combination.CLEAR_MODEL = args.clear_model
    if args.topic_key_min is not None:
        combination.TOPIC_KEY_MODEL_MIN = args.topic_key_min
    if args.rules_topic_off:
        combination._rules_unbacked = lambda *_: False  # type: ignore[assignment]
    _mark_rule_level()
    scorer = _load_scorer()
    agent = Agent.load(str(args.model))
    assessor, blend = _component(agent, RiskAssessor), _component(agent, TopicBlend)
    args.assessor = assessor
    if args.harm_topic:  # measure the harm head's weight on the classifiers' own topic
        assessor.component_config["harm_topic_weight"] = 0.0
    if args.story_threshold is not None:
        blend.component_config["story_sentence_threshold"] = args.story_threshold
    shipped, shipped_weight = assessor.model, blend.component_config["classifier_weight"]
    sets = {p.stem: [{**json.loads(line), "_set": p.stem} for line in p.read_text(encoding="utf-8").splitlines()
                     if line.strip()] for p in args.sets}
    table: dict[str, dict[str, dict[str, float]]] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    for name in args.names:
        assessor.model = shipped if name == "shipped" else RiskModel.load(VARIANTS / f"{name}.pkl", assessor.lexicon)
        for weight in args.topic_weights or [shipped_weight]:
            blend.component_config["classifier_weight"] = weight
            label = name if weight == shipped_weight else f"{name}@topic{weight}"
            for rows in sets.values():
                _score_set(agent, scorer, rows, label, args, table, confusions)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    _print(table, list(sets))
    if confusions:
        print("\ntopic confusions over the blind sets (gold -> read: count, all variants)")
        for (gold, read), count in confusions.most_common(25):
            print(f"  {gold} -> {read}: {count}")


def _print(table: dict[str, dict[str, dict[str, float]]], set_names: list[str]) -> None:
    figures = list(next(iter(next(iter(table.values())).values())))
    for figure in figures:
        print(f"\n{figure}\n| variant | " + " | ".join(set_names) + " |")
        print("|---" * (len(set_names) + 1) + "|")
        for variant, by_set in table.items():
            if figure in by_set[set_names[0]]:
                print(f"| {variant} | " + " | ".join(f"{by_set[s][figure]:.3f}" for s in set_names) + " |")


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    trainer = commands.add_parser("train")
    trainer.add_argument("name")
    trainer.add_argument("--extra", nargs="*", type=Path, default=[])
    trainer.add_argument("--only-levels")
    trainer.add_argument("--c", type=float)
    trainer.add_argument("--hard-negative-weight", type=float, default=1.0,
                         help="training weight of harmless messages whose words evoke a harm")
    trainer.add_argument("--combiner-leaves", type=int,
                         help="a more regularised combining stage: leaves per tree (with 40 messages a leaf, l2 1.0)")
    trainer.add_argument("--wide", action="store_true",
                         help="the combining stage also reads yes/no level heads and the severity heads")
    trainer.add_argument("--rule-evidence", action="store_true",
                         help="the combining stage also reads the rules' lexicon-only reading")
    scorer = commands.add_parser("score")
    scorer.add_argument("names", nargs="+")
    scorer.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    default_sets = [ROOT.parent / "shared" / "eval" / "dev.jsonl", *sorted((ROOT / "tests/nlu/blind").glob("*.jsonl"))]
    scorer.add_argument("--sets", nargs="*", type=Path, default=default_sets)
    scorer.add_argument("--two-keys", nargs="*", type=float, default=[])
    scorer.add_argument("--rules-topic-off", action="store_true",
                        help="score without the shipped topic key on the rules' high readings")
    scorer.add_argument("--rules-topic-key", nargs="*", type=float, default=[], metavar="C",
                        help="score the topic as a key on the rules' high readings at confidence C "
                             "(with --rules-topic-off)")
    scorer.add_argument("--topic-key-min", type=float,
                        help="the combination's TOPIC_KEY_MODEL_MIN (0 turns the topic key off)")
    scorer.add_argument("--topic-key", nargs="*", default=[], metavar="T:C",
                        help="a high+ reading the rules do not back, of a message read as a non-disclosure "
                             "topic at confidence C or more, needs P(high or more) >= T")
    scorer.add_argument("--two-keys-concern", action="store_true",
                        help="also score the two-keys rule where the rules read concern")
    scorer.add_argument("--topic-consistency", action="store_true",
                        help="also score topics where a message read as no risk takes a non-disclosure topic")
    scorer.add_argument("--lone-model-min", type=float,
                        help="the combination's two-keys minimum (0 turns the rule off)")
    scorer.add_argument("--topic-weights", nargs="*", type=float, default=[],
                        help="TopicBlend classifier weights to score (the model's own when none)")
    scorer.add_argument("--clear-model", type=float,
                        help="the combination's CLEAR_MODEL (how sure the model must be to damp the rules)")
    scorer.add_argument("--story-threshold", type=float,
                        help="TopicBlend's story_sentence_threshold (the model's own when not given)")
    scorer.add_argument("--harm-topic", nargs="*", type=float, default=[],
                        help="score disclosure topics re-ranked with the harm head at these weights "
                        "(the pipeline's own harm_topic_weight is then 0)")
    scorer.add_argument("--who-topic", nargs="*", type=float, default=[],
                        help="also score self/third-party disclosure topics swapped by the who head at these minimums")
    scorer.add_argument("--risk-topic", nargs="*", default=[], choices=["concern", "high", "imminent"],
                        help="also score out_of_scope messages read at this risk level or more moved to the "
                        "disclosure topic the factor heads read")
    scorer.add_argument("--sources", action="store_true",
                        help="count which reading (rules, model, both) made each false alarm high or more")
    scorer.add_argument("--json", type=Path)
    scorer.add_argument("--confusions", action="store_true", help="count topic confusions (pairs only)")
    args = parser.parse_args()
    train(args) if args.command == "train" else score(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
