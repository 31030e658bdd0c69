"""Replay short conversations through Rasa and the action server and score the context reading.

    python scripts/eval_context.py [data/risk/context.jsonl]

Each line: {"messages": [...], "risk_last_alone", "risk_in_context", ...}. The conversations are
not trained on (the risk model reads single messages). Every conversation gets a fresh sender;
the level of a message is the one in the actions' risk payload. Prints:
- raised: of the conversations whose last message the context should raise, the share where the
  conversation has reached the in-context level or higher by its last message (a case's level
  only goes up, so an earlier message may have reached it already), and the share escalated
  (high or imminent) where that level is high or imminent;
- not raised: of those the context should not raise, the share whose last message the context
  raised anyway (a `context:` signal).
The same conversations are replayed with the action server not reading context, as the baseline.
Standard library only.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services  # noqa: E402

LEVELS = ("none", "concern", "high", "imminent")
DEFAULT_SET = services.ROOT / "data" / "risk" / "context.jsonl"


def conversation_payloads(rasa_url: str, token: str, messages: list[str]) -> list[dict]:
    """The actions' risk payload for each message of a new conversation."""
    sender = f"web:context-eval-{uuid.uuid4().hex}"
    payloads: list[dict] = []
    for text in messages:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        payloads.append(next((r["custom"] for r in replies if (r.get("custom") or {}).get("type") == "risk"), {}))
    return payloads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", nargs="?", type=Path, default=DEFAULT_SET)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    for label, reads_context in (("with context", True), ("baseline, each message alone", False)):
        with services.running_stack(with_actions=True, actions_read_context=reads_context) as stack:
            report(label, rows, [conversation_payloads(stack.rasa_url, stack.token, row["messages"]) for row in rows])
    return 0


def report(label: str, rows: list[dict], conversations: list[list[dict]]) -> None:
    raise_ok = raise_n = escalate_ok = escalate_n = false_raise = still_n = 0
    for row, payloads in zip(rows, conversations, strict=True):
        payload = payloads[-1]
        got = max(LEVELS.index(p.get("level", "none")) for p in payloads)
        alone, in_context = LEVELS.index(row["risk_last_alone"]), LEVELS.index(row["risk_in_context"])
        if in_context > alone:
            raise_n += 1
            raise_ok += got >= in_context
            if in_context >= 2:
                escalate_n += 1
                escalate_ok += got >= 2
        else:
            still_n += 1
            false_raise += any(s.startswith("context:") for s in payload.get("signals", []))
    print(f"{label}: {len(rows)} conversations")
    print(f"  raised: {raise_ok}/{raise_n} at the in-context level or higher ({raise_ok / max(1, raise_n):.3f}); "
          f"escalated {escalate_ok}/{escalate_n} ({escalate_ok / max(1, escalate_n):.3f})")
    print(f"  not raised: {false_raise}/{still_n} raised by the context anyway ({false_raise / max(1, still_n):.3f})")


if __name__ == "__main__":
    sys.exit(main())
