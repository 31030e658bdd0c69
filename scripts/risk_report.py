"""Risk engine report on a case file: exact level accuracy, misses, false alarms and speed.

    python scripts/risk_report.py [tests/nlu/data/risk_cases.jsonl] [--show all|wrong]

Each line of the case file: {"text", "intent", "confidence", "expected_level"} (optional "kind").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vietnlu.risk import LEVELS, RiskLexicon, assess  # noqa: E402

DEFAULT_CASES = ROOT / "tests" / "nlu" / "data" / "risk_cases.jsonl"


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(cases: list[dict], lexicon: RiskLexicon) -> dict:
    """Predictions and summary figures for a list of cases."""
    rows = []
    started = time.perf_counter()
    for case in cases:
        risk = assess(case["text"], case.get("intent"), case.get("confidence", 0.0), lexicon=lexicon)
        rows.append((case, risk))
    elapsed_ms = (time.perf_counter() - started) * 1000
    exact = sum(1 for case, risk in rows if risk.level == case["expected_level"])
    rank = LEVELS.index
    high_plus = [(c, r) for c, r in rows if rank(c["expected_level"]) >= 2]
    none_rows = [(c, r) for c, r in rows if c["expected_level"] == "none"]
    any_risk = [(c, r) for c, r in rows if rank(c["expected_level"]) >= 1]
    imminent = [(c, r) for c, r in rows if c["expected_level"] == "imminent"]
    confusion = Counter((c["expected_level"], r.level) for c, r in rows)
    return {
        "rows": rows,
        "cases": len(rows),
        "exact": exact,
        "recall_imminent": sum(r.level == "imminent" for _, r in imminent) / max(len(imminent), 1),
        "recall_high_plus": sum(rank(r.level) >= 2 for _, r in high_plus) / max(len(high_plus), 1),
        "recall_any_risk": sum(rank(r.level) >= 1 for _, r in any_risk) / max(len(any_risk), 1),
        # as ../shared/eval/score.py counts them: alarms on messages whose gold level is none
        "false_alarm_high_plus": sum(rank(r.level) >= 2 for _, r in none_rows) / max(len(none_rows), 1),
        "false_alarm_any": sum(rank(r.level) >= 1 for _, r in none_rows) / max(len(none_rows), 1),
        "confusion": confusion,
        "ms_per_message": elapsed_ms / max(len(rows), 1),
    }


def format_report(result: dict) -> str:
    lines = [
        f"cases: {result['cases']}  exactly right: {result['exact']} ({result['exact'] / max(result['cases'], 1):.1%})",
        f"recall_imminent: {result['recall_imminent']:.3f}  recall_high_plus: {result['recall_high_plus']:.3f}  "
        f"recall_any_risk: {result['recall_any_risk']:.3f}  "
        f"false_alarm_high_plus: {result['false_alarm_high_plus']:.3f}  "
        f"false_alarm_any: {result['false_alarm_any']:.3f}",
        f"mean time per message: {result['ms_per_message']:.3f} ms",
        "expected → predicted:",
    ]
    for expected in LEVELS:
        counts = "  ".join(f"{p}={result['confusion'][(expected, p)]}" for p in LEVELS)
        lines.append(f"  {expected:9} {counts}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    parser.add_argument("--show", choices=("none", "wrong", "all"), default="wrong")
    args = parser.parse_args()
    lexicon = RiskLexicon.load()
    result = evaluate(load_cases(Path(args.cases)), lexicon)
    if args.show != "none":
        for case, risk in result["rows"]:
            if args.show == "all" or risk.level != case["expected_level"]:
                print(f"[{case['expected_level']:>8} → {risk.level:<8}] {case['text']}")
                print(f"      intent={case.get('intent')}:{case.get('confidence')}  {risk.signals}")
    print(format_report(result))


if __name__ == "__main__":
    main()
