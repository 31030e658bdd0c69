"""Score the model on the dev set and on every blind set, side by side, with one Rasa server.

    python scripts/eval_sets.py [--model models/current.tar.gz] [--json OUT] [SET.jsonl ...]

Without sets: ../shared/eval/dev.jsonl (when present) and tests/nlu/blind/*.jsonl. Only figures
are printed (the scorer runs with `--errors 0`): blind sets' lines are not to be studied; for the
dev set's misses use `make eval SET=../shared/eval/dev.jsonl`. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services  # noqa: E402

ROOT = services.ROOT
SCORER = ROOT.parent / "shared" / "eval" / "score.py"
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
BLIND_DIR = ROOT / "tests" / "nlu" / "blind"
FIGURES = (
    "n", "recall_imminent_escalated", "recall_imminent", "recall_high_plus", "recall_any_risk",
    "false_alarm_high_plus", "false_alarm_any", "risk_exact", "topic_accuracy", "topic_macro_f1",
    "parse_ms_p50", "parse_ms_p95",
)
TARGETS = {
    "recall_imminent_escalated": (">=", 0.97), "recall_imminent": (">=", 0.90), "recall_high_plus": (">=", 0.97),
    "recall_any_risk": (">=", 0.97), "false_alarm_high_plus": ("<=", 0.03), "topic_accuracy": (">=", 0.92),
}


def score(stack: services.Stack, path: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, str(SCORER), str(path), "--url", stack.rasa_url, "--token", stack.token,
               "--errors", "0", "--json", out.name]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def table(results: dict[str, dict]) -> str:
    names = list(results)
    lines = ["| figure | " + " | ".join(names) + " | target |", "|---" * (len(names) + 2) + "|"]
    for figure in FIGURES:
        cells = []
        for name in names:
            value = results[name].get(figure)
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        op, bound = TARGETS.get(figure, ("", None))
        lines.append(f"| {figure} | " + " | ".join(cells) + f" | {op} {bound if bound is not None else ''} |")
    return "\n".join(lines)


def default_sets() -> list[Path]:
    """The dev set (when it is there) and every blind set, in that order."""
    return [path for path in [DEV_SET, *sorted(BLIND_DIR.glob("*.jsonl"))] if path.exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--model", type=Path, default=services.MODEL)
    parser.add_argument("--json", type=Path, help="write every set's figures here")
    args = parser.parse_args(argv)
    sets = args.sets or default_sets()
    results: dict[str, dict] = {}
    with services.running_stack(with_actions=False, model=args.model) as stack:
        for path in sets:
            results[path.stem] = score(stack, path)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
