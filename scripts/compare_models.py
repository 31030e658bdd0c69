"""Compare two trained models' NLU output on a set of messages (reproducibility check).

Starts a Rasa server for each model, parses every text of the given JSONL files and reports how
many intents, confidences (to 1e-4) and risk levels differ. Training twice from the same data and
config must give zero differences.

Usage: python scripts/compare_models.py MODEL_A MODEL_B FILE.jsonl [FILE.jsonl ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import running_stack  # noqa: E402


def parse_all(model: Path, texts: list[str]) -> list[dict]:
    results = []
    with running_stack(with_actions=False, model=model) as stack:
        for text in texts:
            request = urllib.request.Request(
                f"{stack.rasa_url}/model/parse?token={stack.token}",
                data=json.dumps({"text": text}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                body = json.loads(response.read())
            results.append({
                "intent": body["intent"]["name"],
                "confidence": round(float(body["intent"]["confidence"]), 4),
                "risk": body.get("risk", {}).get("level"),
            })
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_a", type=Path)
    parser.add_argument("model_b", type=Path)
    parser.add_argument("sets", nargs="+", type=Path)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for path in args.sets
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    a = parse_all(args.model_a, texts)
    b = parse_all(args.model_b, texts)
    differ = {key: sum(x[key] != y[key] for x, y in zip(a, b, strict=True)) for key in ("intent", "confidence", "risk")}
    print(f"{len(texts)} messages: intents differ {differ['intent']}, confidences differ "
          f"{differ['confidence']}, risk levels differ {differ['risk']}")
    return 0 if not any(differ.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
