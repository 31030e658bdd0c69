"""A stand-in Rasa server for retrain tests, run as its own process like the real one.

    python nlu_model_server.py --port P --model MODEL_FILE [--record SWAPS_FILE]

The "model" is a JSON file {"quality": "good" | "weak"}: a good model answers every sentence of the
evaluation set with its labelled topic and risk; a weak one misses every risk level. PUT /model
records the new model file (one line per swap) and switches to it.
"""
from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EVAL_SET = Path(__file__).resolve().parents[4] / "shared" / "eval" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--record", default="")
    args = parser.parse_args()
    gold = {row["text"]: row for row in map(json.loads, EVAL_SET.read_text(encoding="utf-8").splitlines()) if row}
    state = {"quality": json.loads(Path(args.model).read_text())["quality"]}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

        def do_GET(self) -> None:  # noqa: N802
            self._json(200, {"model_file": args.model})

        def do_POST(self) -> None:  # noqa: N802
            text = self._body().get("text", "")
            row = gold.get(text, {"topic": "nlu_fallback", "risk": "none"})
            level = row["risk"] if state["quality"] == "good" else "none"
            self._json(200, {"text": text, "intent": {"name": row["topic"], "confidence": 0.9},
                             "entities": [], "risk": {"level": level, "category": None, "signals": []}})

        def do_PUT(self) -> None:  # noqa: N802
            model = self._body()["model_file"]
            state["quality"] = json.loads(Path(model).read_text())["quality"]
            if args.record:
                with open(args.record, "a", encoding="utf-8") as handle:
                    handle.write(model + "\n")
            self.send_response(204)
            self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
