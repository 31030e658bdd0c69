"""Could the gateway read risk with the learned model while Rasa is down? (prints numbers; not a test)

Reads the held-out sets (tests/nlu/data/heldout_*.jsonl) with the trained risk model taken out of
models/current.tar.gz and with the rules (no intent: what the gateway has without Rasa), in whichever
Python runs it, and writes one JSON line per message. Run it once with the Rasa environment and
once with a Python 3.11 environment holding the Rasa environment's numpy, scipy and scikit-learn,
then compare:

    python3.11 -m venv /tmp/risk311 && /tmp/risk311/bin/pip install numpy==1.23.5 scipy==1.10.1 \
        scikit-learn==1.1.3 pyyaml
    .venv-rasa/bin/python scripts/risk_model_portability.py read /tmp/rasa.jsonl
    /tmp/risk311/bin/python scripts/risk_model_portability.py read /tmp/gw.jsonl
    python3 scripts/risk_model_portability.py compare /tmp/rasa.jsonl /tmp/gw.jsonl
"""
from __future__ import annotations

import json
import resource
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "current.tar.gz"
SETS = ("heldout_disclosures.jsonl", "heldout_general.jsonl")
RANK = {"none": 0, "concern": 1, "high": 2, "imminent": 3}


def _risk_model_file(directory: str) -> Path:
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers()
                      if "RiskAssessor" in m.name and m.name.endswith("risk_model.pkl"))
        archive.extract(member, directory)  # noqa: S202 - our own trained model file
    return Path(directory) / member.name


def read(out_path: str) -> None:
    sys.path.insert(0, str(ROOT))
    from vietnlu.lexicon import DEFAULT_LEXICON_PATH, Lexicon
    from vietnlu.risk import rules
    from vietnlu.risk.combine import combine
    from vietnlu.risk.lexicon import DEFAULT_RISK_LEXICON_PATH, RiskLexicon
    from vietnlu.risk.model import RiskModel

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        lexicon = Lexicon.load(str(DEFAULT_LEXICON_PATH))
        risk_lexicon = RiskLexicon.load(str(DEFAULT_RISK_LEXICON_PATH), text_lexicon=lexicon)
        model = RiskModel.load(_risk_model_file(directory), lexicon)
        load_seconds = time.perf_counter() - started
    rows = [json.loads(line) for name in SETS
            for line in (ROOT / "tests" / "nlu" / "data" / name).read_text().splitlines() if line.strip()]
    times = []
    with open(out_path, "w") as out:
        for row in rows:
            started = time.perf_counter()
            reading = model.read(row["text"])
            rule = rules.assess(row["text"], None, 0.0, lexicon=risk_lexicon)
            both = combine(rule, reading)
            times.append(time.perf_counter() - started)
            out.write(json.dumps({"gold": row["risk"], "rules": rule.level, "model": reading.level,
                                  "combined": both.level, "probabilities": reading.probabilities}) + "\n")
    times.sort()
    print(f"Python {sys.version.split()[0]}: model loaded in {load_seconds:.2f} s; {len(times)} messages read, "
          f"p50 {times[len(times) // 2] * 1000:.1f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms; "
          f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


def compare(first: str, second: str) -> None:
    a = [json.loads(line) for line in Path(first).read_text().splitlines()]
    b = [json.loads(line) for line in Path(second).read_text().splitlines()]
    same = sum(x["model"] == y["model"] and x["combined"] == y["combined"] for x, y in zip(a, b, strict=True))
    drift = max(abs(x["probabilities"][k] - y["probabilities"][k]) for x, y in zip(a, b, strict=True)
                for k in x["probabilities"])
    print(f"{len(a)} messages: same levels in both environments {same}; largest probability difference {drift:g}")
    serious = [x for x in b if RANK[x["gold"]] >= RANK["high"]]
    harmless = [x for x in b if x["gold"] == "none"]
    for key, label in (("rules", "rules alone (the gateway today)"), ("combined", "rules + learned model")):
        caught = sum(RANK[x[key]] >= RANK["high"] for x in serious)
        false = sum(RANK[x[key]] >= RANK["high"] for x in harmless)
        print(f"  {label:32s} high+ on {caught}/{len(serious)} high+ messages, on {false}/{len(harmless)} harmless")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "read":
        read(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
