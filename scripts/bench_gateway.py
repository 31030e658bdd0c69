"""Gateway benchmark (prints numbers; not a test).

Starts the gateway (`python -m api`, SQLite in a temporary folder unless --database-url is given)
against the fake Telegram Bot API and the Rasa server at --rasa-url, then measures on 127.0.0.1:
  1. bare Rasa REST throughput (N concurrent senders straight to /webhooks/rest/webhook);
  2. webhook ack p50/p99 and end-to-end reply p50/p95 at a fixed offered rate (default 30 msg/s),
     end to end = POST /webhooks/telegram sent → first sendMessage for that chat at the fake Telegram;
  3. full-stack throughput with N users in a closed loop, and its ratio to bare Rasa.
Targets: ack p99 <= 20 ms; reply p95 <= 250 ms at 30 msg/s; throughput >= 0.6 x bare Rasa.

  .venv/bin/python scripts/bench_gateway.py                 # starts Rasa + actions (NLG at the gateway)
  .venv/bin/python scripts/bench_gateway.py --rasa-url http://127.0.0.1:5005 [--rasa-token T]
  .venv/bin/python scripts/bench_gateway.py --fake-rasa 0.02   # self-check without a Rasa server
  .venv/bin/python scripts/bench_gateway.py --fake-rasa 0.02 --login-flood 10   # + failed logins/s meanwhile

--login-flood R sends R failed logins a second (made-up emails, one client address) during the
fixed-rate phase and prints how they were answered: the login limits must keep the ack p99.

The fake Telegram has no rate limits, so the gateway's delivery limits are raised for the run (the
real Bot API allows about 30 messages/s; those limits are a property of Telegram, not of the gateway).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.services import running_stack, stop_process  # noqa: E402
from tests.gateway.fakes.rasa import FakeRasa  # noqa: E402
from tests.gateway.fakes.server import free_port  # noqa: E402
from tests.gateway.fakes.telegram import FakeTelegram, TelegramCall  # noqa: E402

TOKEN = "424242:BENCH-TOKEN"  # noqa: S105 (the fake Bot API's token)
SECRET = "bench-secret_0123456789"  # noqa: S105
MESSAGES = ["xin chào", "bạn là ai vậy", "mình muốn hỏi về an toàn cơ thể", "cảm ơn bạn nhiều",
            "số 111 là gì", "làm sao để nhờ người lớn giúp", "bạn có giữ bí mật không", "tạm biệt nhé"]
MAX_REQUESTS = 20_000  # every loop below is bounded


def _serve_fake_telegram(token: str, port: int, calls: Any, ready: Any) -> None:
    """Child process: the fake Bot API, reporting each call (method, status, chat, text, time) to
    the parent. Run apart from the load generator so the two never wait for one interpreter lock:
    in one process the server's thread delayed the client's reading of webhook answers by up to
    the lock's 5 ms switch interval, which the benchmark then counted as gateway latency."""
    telegram = FakeTelegram(token, port=port)

    def report(call: TelegramCall) -> None:
        calls.put((call.method, call.status, str(call.params.get("chat_id", "")),
                   str(call.params.get("text", ""))[:200], call.at))  # CLOCK_MONOTONIC: system-wide

    telegram.listeners.append(report)
    telegram.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        telegram.stop()


class FakeTelegramProcess:
    """The fake Telegram Bot API in a child process; `listeners` get a TelegramCall per call."""

    def __init__(self, token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.listeners: list[Any] = []
        self._calls = context.Queue()
        self._ready = context.Event()
        self._process = context.Process(target=_serve_fake_telegram, daemon=True,
                                        args=(token, self.port, self._calls, self._ready))
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> FakeTelegramProcess:
        self._process.start()
        if not self._ready.wait(timeout=30):
            raise SystemExit("the fake Telegram server did not start")
        self._reader.start()
        return self

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)
        self._calls.put(None)

    def _read(self) -> None:
        while (item := self._calls.get()) is not None:
            method, status, chat_id, text, at = item
            call = TelegramCall(method=method, params={"chat_id": chat_id, "text": text}, at=at, status=status)
            for listener in list(self.listeners):
                listener(call)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class ReplyWatcher:
    """Turns the fake Telegram's sendMessage calls (from its server thread) into per-chat futures."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, asyncio.Future[float]] = {}

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = self.loop.create_future()
        self.waiting[chat_id] = future
        return future

    def on_call(self, call: TelegramCall) -> None:
        if call.method != "sendMessage" or call.status != 200:
            return
        chat_id = int(call.params.get("chat_id", 0))
        self.loop.call_soon_threadsafe(self._resolve, chat_id, call.at)

    def _resolve(self, chat_id: int, at: float) -> None:
        future = self.waiting.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result(at)


update_ids = itertools.count(900_000_000)


def update_for(chat_id: int, text: str) -> bytes:
    update_id = next(update_ids)
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id % 1_000_000, "from": {"id": chat_id, "is_bot": False, "first_name": "B"},
        "chat": {"id": chat_id, "type": "private"}, "date": int(time.time()), "text": text}}).encode()


async def post(http: httpx.AsyncClient, gateway: str, chat_id: int, text: str) -> float:
    started = time.monotonic()
    response = await http.post(f"{gateway}/webhooks/telegram", content=update_for(chat_id, text), headers={
        "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
    response.raise_for_status()
    return started


async def bare_rasa_throughput(rasa_url: str, token: str, users: int, seconds: float) -> float:
    params = {"token": token} if token else {}
    done = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=users)) as http:
        async def user(i: int) -> None:
            nonlocal done
            for n in range(MAX_REQUESTS):
                if time.monotonic() >= deadline:
                    return
                response = await http.post(f"{rasa_url}/webhooks/rest/webhook", params=params, json={
                    "sender": f"bench:bare-{i}", "message": MESSAGES[n % len(MESSAGES)],
                    "metadata": {"channel": "telegram", "message_id": str(n)}})
                response.raise_for_status()
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(users)))
        return done / (time.monotonic() - started)


async def fixed_rate(http: httpx.AsyncClient, gateway: str, watcher: ReplyWatcher, users: int, rate: float,
                     seconds: float, chat_base: int) -> tuple[list[float], list[float], int]:
    acks: list[float] = []
    replies: list[float] = []
    lost = 0
    busy: set[int] = set()
    total = min(int(rate * seconds), MAX_REQUESTS)
    start = time.monotonic() + 0.2
    pending: list[asyncio.Task[None]] = []

    async def one(chat_id: int, text: str) -> None:
        nonlocal lost
        future = watcher.expect(chat_id)
        sent = time.monotonic()
        try:
            await post(http, gateway, chat_id, text)
            acks.append(time.monotonic() - sent)
            replied_at = await asyncio.wait_for(future, timeout=10)
            replies.append(replied_at - sent)
            await asyncio.sleep(0.3)  # let the rest of this turn's replies arrive before reusing the user
        except (TimeoutError, httpx.HTTPError):
            lost += 1
        finally:
            busy.discard(chat_id)

    chats = itertools.cycle(range(chat_base, chat_base + users))
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        for _ in range(users):
            chat_id = next(chats)
            if chat_id not in busy:
                break
        else:
            lost += 1  # every user still waiting: the system is saturated
            continue
        busy.add(chat_id)
        pending.append(asyncio.create_task(one(chat_id, MESSAGES[i % len(MESSAGES)])))
    await asyncio.gather(*pending)
    return acks, replies, lost


async def closed_loop(http: httpx.AsyncClient, gateway: str, watcher: ReplyWatcher, users: int, seconds: float,
                      chat_base: int) -> float:
    done = 0
    deadline = time.monotonic() + seconds

    async def user(chat_id: int) -> None:
        nonlocal done
        for n in range(MAX_REQUESTS):
            if time.monotonic() >= deadline:
                return
            future = watcher.expect(chat_id)
            await post(http, gateway, chat_id, MESSAGES[n % len(MESSAGES)])
            try:
                await asyncio.wait_for(future, timeout=15)
            except TimeoutError:
                return
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(user(chat_base + i) for i in range(users)))
    return done / (time.monotonic() - started)


def machine_load() -> str:
    """The 1/5/15-minute load averages: figures taken on a busy machine are not comparable."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def verdict(value: float, target: float, *, at_most: bool) -> str:
    if value != value:  # nan: nothing was measured
        return "FAIL (no data)"
    return "PASS" if (value <= target if at_most else value >= target) else "FAIL"


def conditions(args: argparse.Namespace, rasa: str) -> str:
    database = args.database_url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)"
    if database.startswith("sqlite"):
        database += f", synchronous={args.sqlite_synchronous or 'gateway default'}"
    return (f"conditions: database {database}; rasa {rasa}; {args.users} users; offered {args.rate:.0f} msg/s "
            f"for {args.seconds:.0f} s (~{int(args.rate * args.seconds)} messages); "
            f"worker concurrency {args.worker_concurrency}; load average {machine_load()}")


async def login_flood(http: httpx.AsyncClient, gateway: str, rate: float, seconds: float) -> collections.Counter[int]:
    """Failed logins with made-up emails at a fixed rate; the statuses they got (0 = no answer)."""
    statuses: collections.Counter[int] = collections.Counter()
    total = min(int(rate * seconds), MAX_REQUESTS)
    start = time.monotonic() + 0.2

    async def one(i: int) -> None:
        try:
            response = await http.post(f"{gateway}/api/v1/auth/login",
                                       json={"email": f"nobody-{i}@example.vn", "password": "wrong-password-42"})
            statuses[response.status_code] += 1
        except httpx.HTTPError:
            statuses[0] += 1

    pending = []
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        pending.append(asyncio.create_task(one(i)))
    await asyncio.gather(*pending)
    return statuses


def start_gateway(
    args: argparse.Namespace, rasa_url: str, telegram_url: str, workdir: str, *,
    overrides: dict[str, str] | None = None, repo: Path = REPO,
) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """`python -m api` from `repo` against the fakes; `overrides` replace environment settings."""
    port = args.gateway_port or free_port()
    env = {**os.environ,
           "ENVIRONMENT": "development", "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port),
           "DATABASE_URL": args.database_url or f"sqlite:///{workdir}/bench.db",
           "RASA_URL": rasa_url, "RASA_TOKEN": args.rasa_token,
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": telegram_url,
           "ID_HMAC_SECRET": "bench-id-secret", "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "WORKER_CONCURRENCY": str(args.worker_concurrency),
           "DELIVERY_GLOBAL_RATE_PER_SECOND": "10000", "TELEGRAM_OVERALL_MAX_RATE": "10000",
           "DELIVERY_PER_RECIPIENT_RATE_PER_SECOND": "100", "DELIVERY_PER_RECIPIENT_BURST": "100",
           "ZALO_APP_ID": "", "ZALO_ACCESS_TOKEN": ""}
    if args.sqlite_synchronous:  # otherwise the gateway's own default
        env["SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous
    env.update(overrides or {})
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    log_path = os.environ.get("BENCH_GATEWAY_LOG", f"{workdir}/gateway.log")
    process = subprocess.Popen([sys.executable, *profile, "-m", "api"], cwd=str(repo), env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))  # noqa: SIM115
    return process, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def rasa_for(args: argparse.Namespace) -> Iterator[tuple[FakeRasa | None, str]]:
    """The Rasa the gateway talks to: the in-process fake (--fake-rasa), the server at --rasa-url, or
    (neither given) a Rasa server and action server started here whose NLG endpoint is the gateway's
    /nlg, as `make run` wires them: every bot line is then fetched from the gateway, as in production."""
    if args.fake_rasa is not None:
        fake_rasa = FakeRasa().start()
        fake_rasa.delay_seconds = args.fake_rasa
        try:
            yield fake_rasa, fake_rasa.url
        finally:
            fake_rasa.stop()
        return
    if args.rasa_url:
        yield None, args.rasa_url
        return
    args.gateway_port = args.gateway_port or free_port()
    with running_stack(nlg_url=f"http://127.0.0.1:{args.gateway_port}/nlg") as stack:
        args.rasa_token = stack.token
        yield None, stack.rasa_url


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every gateway benchmark takes: where Rasa is and how the gateway runs."""
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_TEST_URL", ""),
                        help="a running Rasa server (default: start one, with its NLG at the gateway)")
    parser.add_argument("--rasa-token",
                        default=os.environ.get("RASA_TEST_TOKEN") or os.environ.get("RASA_TOKEN", ""))
    parser.add_argument("--fake-rasa", type=float, metavar="DELAY_S", default=None,
                        help="use the in-process fake Rasa with this reply delay instead of --rasa-url")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    parser.add_argument("--sqlite-synchronous", default="", choices=["", "FULL", "NORMAL"],
                        help="default: the gateway's own default (SQLITE_SYNCHRONOUS)")
    parser.add_argument("--gateway-port", type=int, default=0,
                        help="fixed port, for a Rasa (--rasa-url) whose NLG endpoint is this gateway's /nlg "
                             "(services.py serve --nlg-url http://127.0.0.1:PORT/nlg)")


def require_local(args: argparse.Namespace) -> None:
    for url in (args.rasa_url, args.database_url):
        if url and "://" in url and not any(h in url for h in ("127.0.0.1", "localhost", "sqlite")):
            raise SystemExit("the benchmark only talks to 127.0.0.1")


async def wait_healthy(gateway: str, process: subprocess.Popen, seconds: float = 60) -> None:  # type: ignore[type-arg]
    # The load generator's own full garbage-collector passes would stop its event loop mid-request and
    # be counted as gateway latency: keep what exists by now out of them (the gateway does the same).
    gc.collect()
    gc.freeze()
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit("the gateway exited during start-up (see gateway.log)")
            try:
                if (await http.get(f"{gateway}/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the gateway did not become healthy")


async def run(args: argparse.Namespace) -> None:
    with rasa_for(args) as (fake_rasa, rasa_url):
        await measure(args, fake_rasa, rasa_url)


async def measure(args: argparse.Namespace, fake_rasa: FakeRasa | None, rasa_url: str) -> None:
    telegram = FakeTelegramProcess(TOKEN).start()
    watcher = ReplyWatcher(asyncio.get_running_loop())
    telegram.listeners.append(watcher.on_call)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as workdir:
        process, gateway = start_gateway(args, rasa_url, telegram.url, workdir)
        try:
            await wait_healthy(gateway, process)
            print(f"gateway {gateway}  rasa {rasa_url}{' (fake)' if fake_rasa else ''}")
            print(conditions(args, "fake, %.0f ms" % (args.fake_rasa * 1000) if fake_rasa else rasa_url))
            bare = await bare_rasa_throughput(rasa_url, args.rasa_token, args.users, args.seconds)
            print(f"bare Rasa REST throughput: {bare:.1f} msg/s ({args.users} concurrent senders)")
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
                await fixed_rate(http, gateway, watcher, args.users, 5, 1, chat_base=10_000)  # warm-up
                flood = (login_flood(http, gateway, args.login_flood, args.seconds) if args.login_flood
                         else asyncio.sleep(0, collections.Counter()))
                (acks, replies, lost), statuses = await asyncio.gather(
                    fixed_rate(http, gateway, watcher, args.users, args.rate, args.seconds, chat_base=100_000), flood)
                if args.login_flood:
                    print(f"login flood {args.login_flood:.0f}/s meanwhile, answered: "
                          + ", ".join(f"{code or 'no answer'} x{n}" for code, n in sorted(statuses.items())))
                ms = [a * 1000 for a in acks]
                rms = [r * 1000 for r in replies]
                print(f"offered {args.rate:.0f} msg/s for {args.seconds:.0f} s: {len(acks)} acked, "
                      f"{len(replies)} replied, {lost} without reply")
                ack_p99, reply_p95 = percentile(ms, 99), percentile(rms, 95)
                if lost:  # a message without a reply counts as slower than any that was answered
                    reply_p95 = percentile(rms + [float("inf")] * lost, 95)
                print(f"webhook ack   p50 {percentile(ms, 50):7.1f} ms   p99 {ack_p99:7.1f} ms"
                      f"   target p99 <= 20 ms    {verdict(ack_p99, 20, at_most=True)}")
                print(f"reply e2e     p50 {percentile(rms, 50):7.1f} ms   p95 {reply_p95:7.1f} ms"
                      f"   target p95 <= 250 ms   {verdict(reply_p95, 250, at_most=True)}")
                full = await closed_loop(http, gateway, watcher, args.users, args.seconds, chat_base=200_000)
            ratio = full / bare if bare else float("nan")
            print(f"full-stack throughput: {full:.1f} msg/s ({args.users} users, closed loop)   ratio to bare Rasa "
                  f"{ratio:.2f}   target >= 0.6   {verdict(ratio, 0.6, at_most=False)}")
            if rms:
                print(f"reply e2e mean {statistics.mean(rms):.1f} ms")
            print(f"load average after the run: {machine_load()}")
        finally:
            stop_process(process)
            telegram.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_gateway_arguments(parser)
    parser.add_argument("--rate", type=float, default=30.0, help="offered messages per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase")
    parser.add_argument("--login-flood", type=float, default=0.0, metavar="RATE",
                        help="failed logins per second during the fixed-rate phase")
    args = parser.parse_args()
    require_local(args)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
