"""Benchmark (not a test): /model/parse latency and resident memory of the Rasa server.

Starts a Rasa server on a free local port, warms it up, sends N parse requests one after the
other with messages built from the training data's vocabulary, and prints p50/p95/p99 latency,
the server's resident memory (VmRSS), the time from start to the first answered parse (model
load) and the model file's size. With --baseline OTHER.tar.gz the same is measured for another
model in the same run (e.g. one trained without the learned risk model), one server at a time.
Usage: python scripts/bench_parse.py [-n 500] [--model M.tar.gz] [--baseline B.tar.gz]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import MODEL, ROOT, running_stack  # noqa: E402

SAMPLES = [
    "chào bot", "ko bít 111 là gì", "em bị bạn cùng lớp bắt nạt hoài", "bo em danh em chay mau",
    "làm sao dạy con giữ an toàn cơ thể", "cảm ơn nha", "có ai trực không cho em nói chuyện",
    "nguoi la tren mang doi anh nong cua e", "hôm nay trời đẹp quá", "thang 6 co su kien gi cho tre em",
    "mạ đánh tui đau lắm", "e muốn chết quá, ko ai hiểu e 😭", "tháng hành động vì trẻ em là gì",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(model: Path, n: int) -> dict[str, float]:
    rng = random.Random(7)
    started = time.perf_counter()
    with running_stack(with_actions=False, model=model) as stack:
        load_seconds = time.perf_counter() - started
        url = f"{stack.rasa_url}/model/parse?token={stack.token}"

        def parse(text: str) -> float:
            body = json.dumps({"text": text}).encode()
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            return (time.perf_counter() - began) * 1000

        for text in SAMPLES * 3:
            parse(text)
        latencies = sorted(parse(rng.choice(SAMPLES)) for _ in range(n))
        pid = int(Path(ROOT / "var" / "rasa.pid").read_text()) if (ROOT / "var" / "rasa.pid").exists() else None
        memory = rss_mb(pid) if pid else float("nan")
    q = statistics.quantiles(latencies, n=100)
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": latencies[-1], "rss_mb": memory,
            "load_s": load_seconds, "size_mb": model.stat().st_size / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--baseline", type=Path, help="another model to measure in the same run")
    args = parser.parse_args()
    models = [("model", args.model)] + ([("baseline", args.baseline)] if args.baseline else [])
    print(f"/model/parse over {args.n} sequential requests (HTTP on 127.0.0.1)")
    for name, path in models:
        m = measure(path, args.n)
        print(f"  {name} {path.name}: p50 {m['p50']:.1f} ms   p95 {m['p95']:.1f} ms   p99 {m['p99']:.1f} ms   "
              f"max {m['max']:.1f} ms")
        print(f"    resident memory {m['rss_mb']:.0f} MB   start to first parse {m['load_s']:.1f} s   "
              f"model file {m['size_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
