"""What the gateway's intake screen reads on each evaluation set: the rules alone, no intent.

    .venv-rasa/bin/python scripts/intake_screen_figures.py [--baseline OLD_RISK.yml] [SETS...]

For each set (default: the dev set and tests/nlu/blind/*.jsonl) it counts harmless messages read
as high or more (a page to the counselors before Rasa answers), and high and imminent messages
read as high or more, with the risk lexicon in data/lexicon/risk.yml and, when given, a baseline
lexicon (`git show REF:data/lexicon/risk.yml > old.yml`). Only counts are printed: blind sets'
lines are not to be studied.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from eval_sets import DEV_SET, default_sets  # noqa: E402

from vietnlu.risk import LEVELS, RiskLexicon, assess  # noqa: E402
from vietnlu.risk.lexicon import load_default_risk_lexicon  # noqa: E402

HIGH = LEVELS.index("high")
COUNTS = ("harmless", "false_alarms", "high_plus", "high_plus_read", "imminent", "imminent_read")


def _row(name: str, lexicon: str, c: dict[str, int]) -> str:
    return (
        f"| {name} | {lexicon} | {c['false_alarms']}/{c['harmless']} | {c['high_plus_read']}/{c['high_plus']}"
        f" | {c['imminent_read']}/{c['imminent']} |"
    )


def set_counts(path: Path, lexicon: RiskLexicon) -> dict[str, int]:
    """Harmless, high+ and imminent messages of one set, and how many the rules read high or more."""
    counts = dict.fromkeys(COUNTS, 0)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        read_high = LEVELS.index(assess(row["text"], None, 0.0, None, lexicon).level) >= HIGH
        gold = LEVELS.index(row["risk"])
        if gold == 0:
            counts["harmless"] += 1
            counts["false_alarms"] += read_high
        if gold >= HIGH:
            counts["high_plus"] += 1
            counts["high_plus_read"] += read_high
        if row["risk"] == "imminent":
            counts["imminent"] += 1
            counts["imminent_read"] += read_high
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--baseline", type=Path, help="a previous risk.yml to read beside the current one")
    args = parser.parse_args()
    sets = args.sets or default_sets()
    lexicons = {"current": load_default_risk_lexicon()}
    if args.baseline:
        lexicons = {"baseline": RiskLexicon.load(args.baseline), **lexicons}
    print("| set | lexicon | harmless read high+ | high+ read high+ | imminent read high+ |")
    print("|---|---|---|---|---|")
    totals = {name: dict.fromkeys(COUNTS, 0) for name in lexicons}
    for path in sets:
        for name, lexicon in lexicons.items():
            c = set_counts(path, lexicon)
            print(_row(path.stem, name, c))
            if path != DEV_SET:
                for key, value in c.items():
                    totals[name][key] += value
    for name, c in totals.items():
        print(_row("blind sets", name, c))


if __name__ == "__main__":
    main()
