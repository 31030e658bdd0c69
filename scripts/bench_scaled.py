"""Scaled topology benchmark (prints numbers; not a test).

Runs the topology of `make run-scaled` (scripts/run_scaled.py) with the fake Telegram (in its own
process) on fresh databases, and prints:
  1. throughput and reply p50/p95 at the same offered load (--rate msg/s for --seconds, each message
     from one of --users chats) with one Rasa replica, then with two; reply time = the gateway storing
     the update → the first answer sent to Telegram (both from the gateway's database);
  2. with two replicas, a burst from 20 chats during which one Rasa replica and then one gateway are
     killed (SIGKILL; the supervisor restarts them): messages acknowledged but never answered (lost),
     answers delivered twice (duplicated) and hotline fallbacks sent while a request was cut;
  3. Rasa's resident memory after --conversations conversations (one message each) with the in-memory
     tracker store and with the SQL store (a single Rasa, no gateway).

  .venv/bin/python scripts/bench_scaled.py [--rate 40 --seconds 15 --conversations 1000] [--memory-only]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.bench_gateway import FakeTelegramProcess, percentile  # noqa: E402
from scripts.run_scaled import Topology, drop_databases, new_tracker_key, prepare_databases, scaled_topology  # noqa: E402
from scripts.services import running_stack  # noqa: E402
from scripts.supervisor import Supervisor  # noqa: E402
from tests.gateway.fakes.telegram import TELEGRAM_TOKEN, TelegramCall  # noqa: E402
from tests.gateway.scaled import Sent, answers, burst, gateway_env, post_update, processed  # noqa: E402

MESSAGES = ["xin chào", "bạn là ai vậy", "mình muốn hỏi về an toàn cơ thể", "cảm ơn bạn nhiều",
            "số 111 là gì", "làm sao để nhờ người lớn giúp", "bạn có giữ bí mật không", "tạm biệt nhé"]


class Deliveries:
    """sendMessage calls the fake Telegram answered 200, per chat."""

    def __init__(self) -> None:
        self.per_chat: Counter[str] = Counter()

    def on_call(self, call: TelegramCall) -> None:
        if call.method == "sendMessage" and call.status == 200:
            self.per_chat[str(call.params.get("chat_id"))] += 1


@contextlib.contextmanager
def topology_running(telegram_url: str, rasa_replicas: int) -> Iterator[tuple[Topology, Supervisor, Engine]]:
    topology = Topology(database=f"bench_scaled_{uuid.uuid4().hex[:8]}", redis_db=5,
                        gateway_env=gateway_env(telegram_url))
    try:
        with scaled_topology(topology, rasa_replicas=rasa_replicas) as supervisor:
            engine = create_engine(topology.gateway_database_url)
            try:
                yield topology, supervisor, engine
            finally:
                engine.dispose()
    finally:
        drop_databases(topology)


async def offered_load(front: str, rate: float, seconds: float, users: int, first_chat: int) -> list[Sent]:
    """Message i leaves at i / rate seconds (an open loop: later messages do not wait for answers)."""
    run = uuid.uuid4().hex[:8]
    count = int(rate * seconds)
    sent: list[Sent] = []
    started = time.monotonic()

    async def one(http: httpx.AsyncClient, i: int) -> None:
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        chat_id, request_id = first_chat + i % users, f"bench-{run}-{i}"
        await post_update(http, front, chat_id, MESSAGES[i % len(MESSAGES)], request_id)
        sent.append(Sent(chat_id, i, request_id, time.monotonic()))

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
        await asyncio.gather(*(one(http, i) for i in range(count)))
    return sent


def reply_times(engine: Engine, sent: list[Sent]) -> tuple[list[float], float]:
    """Per message: stored → first answer sent (s); and answered messages per second over the run."""
    with engine.connect() as connection:
        rows = list(connection.execute(text(
        "SELECT i.received_at, min(o.sent_at) FROM inbound_messages i JOIN outbound_messages o "
            "ON o.request_id = i.request_id AND o.idempotency_key NOT LIKE 'fallback:%' "
            "WHERE i.request_id = ANY(:ids) GROUP BY i.id, i.received_at"), {"ids": [s.request_id for s in sent]}))
    times = [(answered - received).total_seconds() for received, answered in rows]
    span = (max(a for _, a in rows) - min(r for r, _ in rows)).total_seconds()
    return times, len(rows) / span


async def wait_settled(engine: Engine, sent: list[Sent], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processed(engine, sent):
            return True
        await asyncio.sleep(0.5)
    return False


async def measure_load(args: argparse.Namespace, telegram_url: str, replicas: int) -> None:
    with topology_running(telegram_url, replicas) as (topology, _, engine):
        first_chat = 6_100_000 + replicas * 10_000
        sent = await offered_load(topology.front_url, args.rate, args.seconds, args.users, first_chat)
        done = await wait_settled(engine, sent, 300)
        times, throughput = reply_times(engine, sent)
        found = answers(engine, sent).values()
        fallbacks = sum(a.fallbacks for a in found)
        unanswered = sum(1 for a in found if not a.replies)
        print(f"{replicas} Rasa replica{'s' if replicas > 1 else ''}: {len(sent)} messages at {args.rate:g} msg/s "
              f"offered; answered {len(times)}{'' if done else ' (not all processed within 300 s)'}, "
              f"processed without an answer {unanswered}, hotline fallbacks {fallbacks}; "
              f"throughput {throughput:.1f} msg/s; reply p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {percentile(times, 95) * 1000:.0f} ms", flush=True)


async def measure_kills(telegram_url: str, deliveries: Deliveries) -> None:
    with topology_running(telegram_url, 2) as (topology, supervisor, engine):
        chats = {6_500_000 + n: [MESSAGES[(n + i) % len(MESSAGES)] for i in range(6)] for n in range(20)}
        kills: list[str] = []

        def kill(name: str) -> None:
            process = supervisor.process(name)
            if process is not None:
                process.send_signal(signal.SIGKILL)
                kills.append(name)

        def on_ack(message: Sent) -> None:
            if message.index == 1 and "rasa 1" not in kills:
                kill("rasa 1")
            if message.index == 3 and "gateway 1" not in kills:
                kill("gateway 1")

        sent = await burst(topology.front_url, chats, on_ack=on_ack)
        await wait_settled(engine, sent, 300)
        found = answers(engine, sent)
        lost = sum(1 for s in sent if s.request_id not in found or found[s.request_id].status != "done")
        unanswered = sum(1 for s in sent if s.request_id in found and not found[s.request_id].replies)
        rows = Counter[str]()
        for message in sent:
            answer = found.get(message.request_id)
            if answer is not None:
                rows[str(message.chat_id)] += len(answer.replies) + answer.fallbacks
        duplicated = sum(max(0, deliveries.per_chat[chat] - count) for chat, count in rows.items())
        missing = sum(max(0, count - deliveries.per_chat[chat]) for chat, count in rows.items())
        fallbacks = sum(a.fallbacks for a in found.values())
        print(f"kills during a burst of {len(sent)} messages from 20 chats ({', '.join(kills)} SIGKILLed): "
              f"lost {lost}, processed without an answer {unanswered}, answers duplicated {duplicated}, "
              f"answers not delivered {missing}, "
              f"hotline fallbacks for cut requests {fallbacks}", flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def conversations(rasa_url: str, token: str, count: int, concurrency: int = 8) -> None:
    queue = iter(range(count))

    async def worker(http: httpx.AsyncClient) -> None:
        for i in queue:
            response = await http.post(f"{rasa_url}/webhooks/rest/webhook", params={"token": token},
                                       json={"sender": f"telegram:rss-{i}", "message": MESSAGES[i % len(MESSAGES)]})
            response.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))


def measure_memory(count: int) -> None:
    topology = Topology(database=f"bench_scaled_rss_{uuid.uuid4().hex[:8]}")
    prepare_databases(topology)
    try:
        for label, url in (("in-memory", ""), ("SQL (PostgreSQL)", topology.tracker_store_url)):
            os.environ.update(TRACKER_STORE_URL=url, LOCK_STORE_URL="", TRACKER_ENCRYPTION_KEY=new_tracker_key())
            with running_stack() as stack:
                pid = int((REPO / "var" / "rasa.pid").read_text())
                before = rss_mb(pid)
                started = time.monotonic()
                asyncio.run(conversations(stack.rasa_url, stack.token, count))
                print(f"Rasa RSS, {label} tracker store: {before:.0f} MB after loading → {rss_mb(pid):.0f} MB "
                      f"after {count} conversations ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        drop_databases(topology)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="offered messages per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--users", type=int, default=200, help="chats the offered load comes from")
    parser.add_argument("--conversations", type=int, default=1000, help="for the memory figures")
    parser.add_argument("--memory-only", action="store_true", help="only Rasa's memory per tracker store")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.memory_only:
        measure_memory(args.conversations)
        return
    deliveries = Deliveries()
    telegram = FakeTelegramProcess(TELEGRAM_TOKEN).start()
    telegram.listeners.append(deliveries.on_call)
    try:
        for replicas in (1, 2):
            asyncio.run(measure_load(args, telegram.url, replicas))
        asyncio.run(measure_kills(telegram.url, deliveries))
    finally:
        telegram.stop()
    measure_memory(args.conversations)


if __name__ == "__main__":
    main()
