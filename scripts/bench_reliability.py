"""Reliability benchmark: replies while a broadcast goes out (prints numbers; not a test).

Starts the gateway (`python -m api`, SQLite in a temporary folder unless --database-url is given)
against the fake Telegram Bot API the tests use (in a child process) and the fake Rasa (a "cứu"
message is a disclosure: its reply carries 111 and risk imminent), with the production delivery
limits (DELIVERY_GLOBAL_RATE_PER_SECOND=25, Telegram's 30/s). In one run it measures:
  1. idle: ordinary replies (offered --rate msg/s) and disclosures (one every --disclosure-every s)
     for --seconds; reply latency = webhook POST → first sendMessage to that chat;
  2. broadcast: --subscribers opted-in users, POST /broadcasts/{id}/send, then after --delay s the
     same load for --seconds while the broadcast is going out; also the /send answer time, the
     webhook ack times during the dispatch, and the broadcast's own send rate with and without
     replies waiting;
  3. login flood (between 1 and 2): the same load while --login-flood failed logins a second with
     made-up emails hit /api/v1/auth/login (as bench_gateway.py --login-flood); webhook ack p99 and
     reply p95;
  4. kill -9 (last): a burst of --kill-chats x --kill-per-chat updates (each chat in order, resent
     until acknowledged as Telegram does), the gateway killed with SIGKILL after --kill-after
     acknowledgements and started again at once: the time from the restart until every message was
     answered, and any answer missing, sent twice or out of order.
One table at the end sums the phases up.

  .venv/bin/python scripts/bench_reliability.py
  .venv/bin/python scripts/bench_reliability.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
  .venv/bin/python scripts/bench_reliability.py --gateway-repo /path/to/other/checkout   # compare a version
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.auth.models import User  # noqa: E402
from api.auth.passwords import hash_password  # noqa: E402
from api.auth.tokens import issue_token  # noqa: E402
from api.db.session import Database  # noqa: E402
from api.messaging.models import OutboundMessage, OutboundStatus  # noqa: E402
from api.security.crypto import Crypto  # noqa: E402
from api.settings import Settings  # noqa: E402
from scripts.bench_gateway import (  # noqa: E402
    SECRET,
    TOKEN,
    FakeTelegramProcess,
    ReplyWatcher,
    login_flood,
    machine_load,
    percentile,
    post,
    start_gateway,
    wait_healthy,
)
from scripts.services import free_port, stop_process  # noqa: E402
from tests.gateway.fakes.rasa import FakeRasa  # noqa: E402
from tests.gateway.fakes.telegram import TelegramCall  # noqa: E402
from tests.gateway.messaging.killed_gateway import burst_texts, burst_with_kill, problems  # noqa: E402
from tests.gateway.messaging.support import add_telegram_subscribers  # noqa: E402

SESSION_SECRET = "bench-session-secret-0123456789"  # noqa: S105 (a throwaway gateway's)
ID_SECRET = "bench-id-secret"  # noqa: S105
FIRST_SUBSCRIBER = 50_000_000
PROBE_SECONDS = 2.0  # webhook acks are probed this long after /send (the dispatch)
KILL_FIRST_CHAT = 60_000_000
ORDINARY = ["xin chào", "bạn là ai vậy", "cảm ơn bạn nhiều", "số 111 là gì", "tạm biệt nhé"]


@dataclass
class Phase:
    replies: list[float] = field(default_factory=list)  # seconds
    safety: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    lost: int = 0


class BroadcastCounter:
    """Counts the broadcast's sendMessage calls (to subscriber chats) with their times."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_call(self, call: TelegramCall) -> None:
        chat = int(call.params.get("chat_id") or 0)
        if call.method == "sendMessage" and call.status == 200 and chat >= FIRST_SUBSCRIBER:
            self.times.append(call.at)

    def rate(self, start: float, end: float) -> float:
        return sum(1 for t in self.times if start <= t < end) / max(end - start, 1e-9)


async def load(http: httpx.AsyncClient, gateway: str, watcher: ReplyWatcher, args: argparse.Namespace,
               chat_base: int) -> Phase:
    """Ordinary messages at --rate and a disclosure every --disclosure-every s, for --seconds."""
    phase = Phase()
    chats = itertools.count(chat_base)  # a new user each time: no per-recipient limit in the way

    async def one(text: str, into: list[float]) -> None:
        chat_id = next(chats)
        future = watcher.expect(chat_id)
        sent = time.monotonic()
        try:
            await post(http, gateway, chat_id, text)
            phase.acks.append(time.monotonic() - sent)
            into.append(await asyncio.wait_for(future, timeout=args.reply_timeout) - sent)
        except (TimeoutError, httpx.HTTPError):
            phase.lost += 1

    tasks: list[asyncio.Task[None]] = []
    start = time.monotonic()
    total = int(args.rate * args.seconds)
    every = args.disclosure_every
    disclosures = {round(k * every * args.rate) for k in range(int(args.seconds / every))}
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / args.rate - time.monotonic()))
        if i in disclosures:
            tasks.append(asyncio.create_task(one("cứu em với, chú ấy lại đánh em", phase.safety)))
        tasks.append(asyncio.create_task(one(ORDINARY[i % len(ORDINARY)], phase.replies)))
    await asyncio.gather(*tasks)
    return phase


@dataclass
class Row:
    """One line of the closing table."""

    phase: str
    replies: int = 0
    reply_p50_ms: float = float("nan")
    reply_p95_ms: float = float("nan")
    ack_p99_ms: float = float("nan")
    all_answered_s: float = float("nan")  # kill -9: from the restart until every message was answered
    note: str = ""


def row_of(name: str, phase: Phase, note: str = "") -> Row:
    ms = [r * 1000 for r in phase.replies]
    lost = f"{phase.lost} without reply in time" if phase.lost else ""
    return Row(name, len(ms), percentile(ms, 50), percentile(ms, 95),
               percentile([a * 1000 for a in phase.acks], 99), note="; ".join(n for n in (note, lost) if n))


def _cell(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value != value else f"{value:>{width}.{digits}f}"  # NaN: not measured


def print_table(rows: list[Row]) -> None:
    print(f"\n{'phase':<12}{'replies':>8}{'reply p50 ms':>14}{'reply p95 ms':>14}{'ack p99 ms':>12}"
          f"{'all answered s':>16}  note")
    for row in rows:
        print(f"{row.phase:<12}{row.replies:>8}{_cell(row.reply_p50_ms, 14, 0)}{_cell(row.reply_p95_ms, 14, 0)}"
              f"{_cell(row.ack_p99_ms, 12, 1)}{_cell(row.all_answered_s, 16, 1)}  {row.note}")


def report(name: str, phase: Phase) -> None:
    ms = [r * 1000 for r in phase.replies]
    safety = [r * 1000 for r in phase.safety]
    acks = [a * 1000 for a in phase.acks]
    lost = f", {phase.lost} without reply in time" if phase.lost else ""
    print(f"{name:<10} replies n={len(ms)}  p50 {percentile(ms, 50):8.0f} ms  p95 {percentile(ms, 95):8.0f} ms"
          f"   safety n={len(safety)}  first reply p50 {percentile(safety, 50):8.0f} ms"
          f"  max {max(safety, default=float('nan')):8.0f} ms   ack p99 {percentile(acks, 99):6.1f} ms{lost}")


def staff_header(database: Database) -> dict[str, str]:
    with database.transaction() as session:
        user = User(email="bench@example.org", display_name="bench", password_hash=hash_password("x" * 12),
                    role="campaign_staff")
        session.add(user)
        session.flush()
        return {"Authorization": f"Bearer {issue_token(SESSION_SECRET, user.id, user.token_version, 60)}"}


async def broadcast_phase(http: httpx.AsyncClient, gateway: str, watcher: ReplyWatcher, counter: BroadcastCounter,
                          headers: dict[str, str], args: argparse.Namespace) -> Phase:
    created = (await http.post(f"{gateway}/api/v1/broadcasts", headers=headers, json={
        "title": "Bench", "text": "Cơ thể em là của em. Cần giúp, gọi 111.", "channels": ["telegram"]})).json()
    probe = ReplyProbe(http, gateway)
    probing = asyncio.create_task(probe.run())
    sent_at = time.monotonic()
    answer = await http.post(f"{gateway}/api/v1/broadcasts/{created['id']}/send", headers=headers)
    answered = time.monotonic() - sent_at
    answer.raise_for_status()
    await asyncio.sleep(max(0.0, sent_at + PROBE_SECONDS - time.monotonic()))
    probing.cancel()
    await asyncio.sleep(max(0.0, sent_at + args.delay - time.monotonic()))
    alone = counter.rate(sent_at + PROBE_SECONDS + 1, time.monotonic())  # once the probe's replies are out
    phase_start = time.monotonic()
    phase = await load(http, gateway, watcher, args, chat_base=30_000_000)
    phase_end = time.monotonic()
    print(f"/send answered in {answered * 1000:.0f} ms; webhook ack during the first {PROBE_SECONDS:.0f} s "
          f"(dispatch): p99 {percentile(probe.acks, 99):.1f} ms, max {max(probe.acks, default=0):.1f} ms")
    report("broadcast", phase)
    print(f"broadcast sends: {alone:.1f}/s before the replies, {counter.rate(phase_start, phase_end):.1f}/s while "
          f"replies were sent ({len(counter.times)} of {args.subscribers} sent by the end)")
    await http.post(f"{gateway}/api/v1/broadcasts/{created['id']}/cancel", headers=headers)
    return phase


async def login_flood_phase(http: httpx.AsyncClient, gateway: str, watcher: ReplyWatcher,
                            args: argparse.Namespace) -> Row:
    """The idle load while failed logins arrive at --login-flood a second."""
    flood = asyncio.create_task(login_flood(http, gateway, args.login_flood, args.seconds))
    phase = await load(http, gateway, watcher, args, chat_base=25_000_000)
    statuses = await flood
    report("login flood", phase)
    answered = ", ".join(f"{status or 'none'}: {count}" for status, count in sorted(statuses.items()))
    print(f"login flood {args.login_flood:g}/s meanwhile, answered {answered}")
    return row_of("login flood", phase, f"{args.login_flood:g} failed logins/s ({answered})")


class SentLog:
    """Texts sent to each chat (from the fake Telegram's calls), and the time of the last send."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.last_at = 0.0

    def on_call(self, call: TelegramCall) -> None:
        if call.method == "sendMessage" and call.status == 200:
            self.texts.setdefault(int(call.params.get("chat_id") or 0), []).append(str(call.params.get("text")))
            self.last_at = max(self.last_at, call.at)

    def sent(self, chat: int) -> list[str]:
        return list(self.texts.get(chat, []))


async def kill_phase(gateway: str, restart: Callable[[], float], sent_log: SentLog,
                     args: argparse.Namespace) -> Row:
    """A burst, SIGKILL mid-way, restart: seconds from the restart until every message was answered."""
    texts = burst_texts(list(range(KILL_FIRST_CHAT, KILL_FIRST_CHAT + args.kill_chats)), args.kill_per_chat)
    burst, restarted_at = await burst_with_kill(gateway, texts, kill_after_acks=args.kill_after,
                                                kill_and_restart=restart, secret=SECRET)
    expected = sum(len(t) for t in texts.values())
    deadline = restarted_at + args.reply_timeout
    while (answered := sum(min(len(sent_log.sent(c)), len(t)) for c, t in texts.items())) < expected:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    all_in = sent_log.last_at - restarted_at
    await asyncio.sleep(2.0)  # a late duplicate would arrive now
    found = problems(sent_log.sent, texts)
    note = (f"{answered}/{expected} answered ({args.kill_chats} chats), killed after {args.kill_after} acks, "
            f"{burst.redelivered} resent; {len(found)} chats with an answer missing, twice or out of order")
    print(f"kill -9: {note}; the last answer {all_in:.1f} s after the restart")
    for line in found[:5]:
        print(f"  {line}")
    return Row("kill -9", answered, all_answered_s=all_in if answered == expected else float("nan"), note=note)


class ReplyProbe:
    """Webhook ack times (ms) every 50 ms while the broadcast is being dispatched (no reply awaited)."""

    def __init__(self, http: httpx.AsyncClient, gateway: str) -> None:
        self.http, self.gateway, self.acks = http, gateway, list[float]()

    async def run(self) -> None:
        for chat in itertools.count(40_000_000):
            started = time.monotonic()
            await post(self.http, self.gateway, chat, "chào")
            self.acks.append((time.monotonic() - started) * 1000)
            await asyncio.sleep(0.05)


async def measure(args: argparse.Namespace) -> None:
    fake_rasa = FakeRasa().start()
    fake_rasa.delay_seconds = args.fake_rasa
    telegram = FakeTelegramProcess(TOKEN).start()
    watcher = ReplyWatcher(asyncio.get_running_loop())
    counter = BroadcastCounter()
    sent_log = SentLog()
    telegram.listeners += [watcher.on_call, counter.on_call, sent_log.on_call]
    key = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as workdir:
        args.database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
        overrides = {"DATA_ENCRYPTION_KEY": key, "SESSION_SECRET": SESSION_SECRET, "ID_HMAC_SECRET": ID_SECRET,
                     "DELIVERY_GLOBAL_RATE_PER_SECOND": str(args.global_rate), "TELEGRAM_OVERALL_MAX_RATE": "30",
                     "DELIVERY_PER_RECIPIENT_RATE_PER_SECOND": "1", "DELIVERY_PER_RECIPIENT_BURST": "3"}
        args.gateway_port = args.gateway_port or free_port()  # the restart after kill -9 keeps it
        process, gateway = start_gateway(args, fake_rasa.url, telegram.url, workdir, overrides=overrides,
                                         repo=Path(args.gateway_repo))

        def kill_and_restart() -> float:
            nonlocal process
            process.send_signal(signal.SIGKILL)
            process.wait()
            restarted_at = time.monotonic()
            process, _ = start_gateway(args, fake_rasa.url, telegram.url, workdir, overrides=overrides,
                                       repo=Path(args.gateway_repo))
            return restarted_at

        database = Database(args.database_url)
        try:
            await wait_healthy(gateway, process)
            crypto = Crypto(Settings(_env_file=None, id_hmac_secret=ID_SECRET,  # type: ignore[call-arg]
                                     data_encryption_key=key))
            add_telegram_subscribers(database, crypto, range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + args.subscribers))
            headers = staff_header(database)
            print(f"gateway {gateway} from {args.gateway_repo}; database {args.database_url.split(':', 1)[0]}; "
                  f"fake Rasa {args.fake_rasa * 1000:.0f} ms; global rate {args.global_rate:.0f}/s; "
                  f"{args.subscribers} subscribers; offered {args.rate:g} msg/s + a disclosure every "
                  f"{args.disclosure_every:g} s for {args.seconds:g} s; load average {machine_load()}")
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as http:
                idle = await load(http, gateway, watcher, args, chat_base=20_000_000)
                report("idle", idle)
                rows = [row_of("idle", idle), await login_flood_phase(http, gateway, watcher, args)]
                broadcast = await broadcast_phase(http, gateway, watcher, counter, headers, args)
                rows.append(row_of("broadcast", broadcast, f"{args.subscribers} subscribers"))
                await drained_outbox(database)
                rows.append(await kill_phase(gateway, kill_and_restart, sent_log, args))
                print_table(rows)
            print(f"load average after the run: {machine_load()}")
        finally:
            database.dispose()
            stop_process(process)
            telegram.stop()
            fake_rasa.stop()


async def drained_outbox(database: Database, timeout: float = 300.0) -> None:
    """Wait for the cancelled broadcast's sends in flight to end, so the kill phase starts alone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.session() as session:
            busy = session.scalar(select(func.count()).select_from(OutboundMessage).where(
                OutboundMessage.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))))
        if not busy:
            return
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=2.0, help="ordinary messages offered per second")
    parser.add_argument("--disclosure-every", type=float, default=3.0, help="seconds between disclosures")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase")
    parser.add_argument("--delay", type=float, default=6.0, help="seconds between /send and the replies' phase")
    parser.add_argument("--global-rate", type=float, default=25.0, help="DELIVERY_GLOBAL_RATE_PER_SECOND")
    parser.add_argument("--fake-rasa", type=float, default=0.05, metavar="DELAY_S")
    parser.add_argument("--reply-timeout", type=float, default=240.0)
    parser.add_argument("--gateway-repo", default=str(REPO), help="run the gateway from this checkout")
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--sqlite-synchronous", default="", choices=["", "FULL", "NORMAL"])
    parser.add_argument("--gateway-port", type=int, default=0)
    parser.add_argument("--rasa-token", default="")
    parser.add_argument("--login-flood", type=float, default=10.0, metavar="RATE", help="failed logins/s")
    parser.add_argument("--kill-chats", type=int, default=20)
    parser.add_argument("--kill-per-chat", type=int, default=5)
    parser.add_argument("--kill-after", type=int, default=40, help="acknowledged updates before kill -9")
    args = parser.parse_args()
    if args.database_url and not any(h in args.database_url for h in ("127.0.0.1", "localhost", "sqlite")):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
