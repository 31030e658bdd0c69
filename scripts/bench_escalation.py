"""Escalation benchmark (prints numbers; not a test).

Starts the gateway (`python -m api`, SQLite in a temporary folder unless --database-url is given) with
the fake Telegram Bot API and the Rasa server at --rasa-url, signs in to the counselor console API,
opens its server-sent event stream, and while background load runs through POST /webhooks/telegram,
sends disclosures one at a time and measures:
  disclosure webhook sent → `case_opened` event on the console stream (target p95 <= 1 s), and
  disclosure webhook sent → alert sendMessage to the on-call Telegram group.

  .venv/bin/python scripts/bench_escalation.py                 # starts Rasa + actions (NLG at the gateway)
  .venv/bin/python scripts/bench_escalation.py --rasa-url http://127.0.0.1:5005 [--rasa-token T]
  .venv/bin/python scripts/bench_escalation.py --fake-rasa 0.02   # self-check without a Rasa server
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.bench_gateway import (  # noqa: E402
    SECRET,
    TOKEN,
    FakeTelegramProcess,
    ReplyWatcher,
    add_gateway_arguments,
    fixed_rate,
    machine_load,
    percentile,
    rasa_for,
    require_local,
    start_gateway,
    update_for,
    verdict,
    wait_healthy,
)
from scripts.services import stop_process  # noqa: E402
from tests.gateway.fakes.rasa import FakeRasa  # noqa: E402
from tests.gateway.fakes.telegram import TelegramCall  # noqa: E402

ADMIN_EMAIL = "bench-admin@example.vn"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 (throwaway account of the benchmark database)
GROUP = "-1009000000001"
# Half the disclosures are plain enough for the risk lexicon alone (escalated by the intake screen
# at the webhook); the other half only the classifier reads as high (escalated after the Rasa turn).
DISCLOSURES_LEXICON = ["cứu em với, bố em đang đánh em", "cứu em, có người lạ đang đi theo em",
                       "cứu em với, chú hàng xóm đang ở trong nhà em", "em muốn chết, cứu em"]
DISCLOSURES_CLASSIFIER = ["chú hàng xóm hay gọi em qua nhà rồi bắt em ngồi lên đùi chú, em sợ lắm",
                          "dì ghẻ bắt em quỳ trên vỏ sầu riêng cả tiếng, đầu gối em chảy máu",
                          "người trong nhóm chat bảo em gửi hình tắm cho họ thì họ nạp thẻ game cho em",
                          "cậu em hay bắt em giữ bí mật chuyện cậu làm với em trong kho"]


def disclosure(i: int, with_classifier: bool) -> tuple[str, str]:
    """(path, text) of the i-th disclosure: alternately one for each escalation path (the fake Rasa
    has no classifier: it only flags "cứu", so a self-check with it sends lexicon ones only)."""
    if i % 2 == 0 or not with_classifier:
        return "lexicon", DISCLOSURES_LEXICON[(i // 2) % len(DISCLOSURES_LEXICON)]
    return "classifier", DISCLOSURES_CLASSIFIER[(i // 2) % len(DISCLOSURES_CLASSIFIER)]


class ConsoleStream:
    """The console's SSE stream, read in its own thread so the load generator's event loop never
    delays it; records the arrival time of every `case_opened`."""

    def __init__(self, gateway: str, token: str) -> None:
        self.gateway = gateway
        self.token = token
        self.opened: queue.Queue[float] = queue.Queue()
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ConsoleStream:
        self._thread.start()
        if not self.ready.wait(timeout=10):
            raise SystemExit("the console event stream did not open")
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as http:
            with http.stream("GET", f"{self.gateway}/api/v1/events", headers=headers) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if not line.startswith("data:"):
                        continue
                    payload = json.loads(line[5:])
                    if payload.get("type") == "ready":
                        self.ready.set()
                    elif payload.get("type") == "case_opened":
                        self.opened.put(time.monotonic())


def send_disclosures(gateway: str, stream: ConsoleStream, group_alerts: queue.Queue[float], count: int,
                     spread_seconds: float, with_classifier: bool) -> tuple[dict[str, list[float]], list[float], int]:
    """One disclosure at a time from its own thread (sync client), each from a new child.
    Returns the console latencies by escalation path, the group-alert latencies and the misses."""
    to_console: dict[str, list[float]] = {"lexicon": [], "classifier": []}
    to_group: list[float] = []
    missed = 0
    with httpx.Client(timeout=10) as http:
        for i in range(count):
            chat_id = 700_000 + i
            path, text = disclosure(i, with_classifier)
            body = update_for(chat_id, text)
            sent = time.monotonic()
            http.post(f"{gateway}/webhooks/telegram", content=body, headers={
                "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}).raise_for_status()
            try:
                to_console[path].append(stream.opened.get(timeout=10) - sent)
                to_group.append(group_alerts.get(timeout=10) - sent)
            except queue.Empty:
                missed += 1
            time.sleep(max(0.0, spread_seconds / count - (time.monotonic() - sent)))
    return to_console, to_group, missed


async def run(args: argparse.Namespace) -> None:
    with rasa_for(args) as (fake_rasa, rasa_url):
        await measure(args, fake_rasa, rasa_url)


async def measure(args: argparse.Namespace, fake_rasa: FakeRasa | None, rasa_url: str) -> None:
    telegram = FakeTelegramProcess(TOKEN).start()
    loop = asyncio.get_running_loop()
    watcher = ReplyWatcher(loop)
    group_alerts: queue.Queue[float] = queue.Queue()

    def on_call(call: TelegramCall) -> None:
        if str(call.params.get("chat_id")) != GROUP:
            watcher.on_call(call)
        elif call.method == "sendMessage" and call.status == 200 and "Ca mới" in str(call.params.get("text")):
            group_alerts.put(call.at)

    telegram.listeners.append(on_call)
    os.environ.update({"BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL, "BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                       "TELEGRAM_COUNSELOR_CHAT_ID": GROUP, "CASE_NOTIFIER_TICK_SECONDS": "1"})
    with tempfile.TemporaryDirectory(prefix="bench-escalation-") as workdir:
        process, gateway = start_gateway(args, rasa_url, telegram.url, workdir)
        stream: ConsoleStream | None = None
        load_task: asyncio.Task[tuple[list[float], list[float], int]] | None = None
        try:
            await wait_healthy(gateway, process)
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
                login = await http.post(f"{gateway}/api/v1/auth/login",
                                        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                login.raise_for_status()
                stream = await asyncio.to_thread(ConsoleStream(gateway, login.json()["access_token"]).start)
                database = args.database_url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)"
                print(f"gateway {gateway}  rasa {rasa_url}{' (fake)' if fake_rasa else ''}")
                print(f"conditions: database {database}, synchronous={args.sqlite_synchronous or 'gateway default'}; "
                      f"background load {args.rate:.0f} msg/s from {args.users} users; {args.disclosures} disclosures "
                      f"over {args.seconds:.0f} s; load average {machine_load()}")
                load_task = asyncio.create_task(fixed_rate(http, gateway, watcher, args.users, args.rate,
                                                           args.seconds + 2, chat_base=300_000))
                await asyncio.sleep(1.0)
                to_console, to_group, missed = await asyncio.to_thread(
                    send_disclosures, gateway, stream, group_alerts, args.disclosures, args.seconds,
                    fake_rasa is None)
                acks, replies, lost = await load_task
                load_task = None
            reply_ms = [r * 1000 for r in replies]
            print(f"background load: {len(acks)} messages acked, {len(replies)} replied, {lost} without reply; "
                  f"reply p50 {percentile(reply_ms, 50):.1f} ms p95 {percentile(reply_ms, 95):.1f} ms")
            console_ms = [v * 1000 for path in to_console.values() for v in path]
            group_ms = [v * 1000 for v in to_group]
            print(f"disclosures {args.disclosures}: {len(console_ms)} reached the console, {missed} missed")
            for path, values in to_console.items():
                path_ms = [v * 1000 for v in values]
                print(f"  escalated by the {path:10s} ({len(path_ms):2d})  p50 {percentile(path_ms, 50):7.1f} ms   "
                      f"p95 {percentile(path_ms, 95):7.1f} ms")
            console_p95 = percentile(console_ms + [float("inf")] * missed, 95)
            print(f"disclosure → console SSE  p50 {percentile(console_ms, 50):7.1f} ms   "
                  f"p95 {console_p95:7.1f} ms   max {max(console_ms, default=float('nan')):7.1f} ms"
                  f"   target p95 <= 1000 ms   {verdict(console_p95, 1000, at_most=True)}")
            print(f"disclosure → Telegram group alert  p50 {percentile(group_ms, 50):7.1f} ms   "
                  f"p95 {percentile(group_ms, 95):7.1f} ms")
            print(f"load average after the run: {machine_load()}")
        finally:
            if load_task is not None:
                load_task.cancel()
                with contextlib.suppress(BaseException):
                    await load_task
            if stream is not None:
                stream.stop()
            stop_process(process)
            telegram.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_gateway_arguments(parser)
    parser.add_argument("--rate", type=float, default=30.0, help="background load, messages per second")
    parser.add_argument("--disclosures", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0, help="time over which disclosures are spread")
    args = parser.parse_args()
    require_local(args)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
