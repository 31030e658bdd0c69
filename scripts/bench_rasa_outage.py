"""Rasa outage benchmark (prints numbers; not a test).

Starts the action server and Rasa under the supervisor `make run` uses (scripts/supervisor.py), the
gateway (as scripts/bench_gateway.py does) with the fake Telegram, and the counselor console's event
stream. Each round kills Rasa (SIGKILL) and, while the supervisor restarts it, one child sends a
disclosure the risk lexicon reads as high or imminent and another child one that only the
classifier recognises. Per round it prints:
  kill → Rasa answering again (the supervisor's restart delay + loading the model),
  lexicon disclosure → its case_opened on the console (Rasa still down),
  each disclosure → the hotline fallback (111) delivered to the child,
  Rasa answering again → the classifier-only disclosure's case_opened.

  .venv/bin/python scripts/bench_rasa_outage.py                        # probe for Rasa every 1 s
  .venv/bin/python scripts/bench_rasa_outage.py --probe-seconds 3600   # as before: backoff only
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from api.messaging.texts import SERVICE_UNAVAILABLE  # noqa: E402
from scripts.bench_escalation import DISCLOSURES_CLASSIFIER, DISCLOSURES_LEXICON  # noqa: E402
from scripts.bench_gateway import (  # noqa: E402
    SECRET,
    TOKEN,
    FakeTelegramProcess,
    add_gateway_arguments,
    free_port,
    start_gateway,
    update_for,
)
from scripts.services import (  # noqa: E402
    LOG_DIR,
    ROOT,
    action_server_command,
    action_server_env,
    base_env,
    new_token,
    rasa_command,
    rasa_env,
    rasa_model_ready,
    stop_process,
)
from scripts.supervisor import ChildSpec, Supervisor  # noqa: E402
from tests.gateway.fakes.telegram import TelegramCall  # noqa: E402

ADMIN_EMAIL = "bench-admin@example.vn"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 (throwaway account of the benchmark database)
# The start of the gateway's hotline fallback (api/messaging/texts.py SERVICE_UNAVAILABLE, with 111).
FALLBACK_MARK = SERVICE_UNAVAILABLE.default[:40]


class CaseStream:
    """The console's SSE stream in a thread: the arrival time of each case_opened, in order."""

    def __init__(self, gateway: str, token: str) -> None:
        self.gateway, self.token = gateway, token
        self.opened: queue.Queue[float] = queue.Queue()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as http:
            # The stream ends when the gateway stops at the end of the run.
            with http.stream("GET", f"{self.gateway}/api/v1/events", headers=headers) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        kind = json.loads(line[5:]).get("type")
                        if kind == "ready":
                            self.ready.set()
                        elif kind == "case_opened":
                            self.opened.put(time.monotonic())


def _wait(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Poll `check()` until true; the monotonic time it became true, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(step)
    return None


def _send(http: httpx.Client, gateway: str, chat_id: int, text: str) -> float:
    sent = time.monotonic()
    http.post(f"{gateway}/webhooks/telegram", content=update_for(chat_id, text), headers={
        "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}).raise_for_status()
    return sent


def one_round(i: int, http: httpx.Client, gateway: str, supervisor: Supervisor, rasa_url: str, token: str,
              stream: CaseStream, fallbacks: dict[str, float]) -> None:
    rasa = supervisor.process("rasa")
    assert rasa is not None
    killed = time.monotonic()
    rasa.send_signal(signal.SIGKILL)
    _wait(lambda: not rasa_model_ready(rasa_url, token), 10)
    lexicon_chat, classifier_chat = str(800_000 + 2 * i), str(800_001 + 2 * i)
    lexicon_sent = _send(http, gateway, int(lexicon_chat), DISCLOSURES_LEXICON[i % len(DISCLOSURES_LEXICON)])
    lexicon_case = stream.opened.get(timeout=10)
    classifier_sent = _send(http, gateway, int(classifier_chat),
                            DISCLOSURES_CLASSIFIER[i % len(DISCLOSURES_CLASSIFIER)])
    back = _wait(lambda: rasa_model_ready(rasa_url, token), 300, step=0.05)
    try:
        classifier_case: float | None = stream.opened.get(timeout=120)
    except queue.Empty:
        classifier_case = None
    _wait(lambda: lexicon_chat in fallbacks and classifier_chat in fallbacks, 10)
    restart = supervisor.restarts[-1]

    def ms(start: float | None, end: float | None) -> str:
        return "—" if start is None or end is None else f"{(end - start) * 1000:8.0f} ms"

    print(f"round {i + 1}: restart delay {restart.delay:g} s; kill → Rasa answers {ms(killed, back)}")
    print(f"  lexicon disclosure → case_opened       {ms(lexicon_sent, lexicon_case)}   (Rasa down)")
    print(f"  lexicon disclosure → 111 fallback      {ms(lexicon_sent, fallbacks.get(lexicon_chat))}")
    print(f"  classifier disclosure → 111 fallback   {ms(classifier_sent, fallbacks.get(classifier_chat))}")
    print(f"  Rasa answers → classifier case_opened  {ms(back, classifier_case)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_gateway_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--probe-seconds", type=float, default=1.0, help="RASA_RECOVERY_PROBE_SECONDS")
    args = parser.parse_args()
    args.gateway_port = args.gateway_port or free_port()
    args.rasa_token = new_token()
    rasa_port, action_port = free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    env = base_env()
    supervisor = Supervisor([
        ChildSpec("action server", action_server_command(action_port), cwd=ROOT,
                  env=action_server_env(env, rasa_url, args.rasa_token), log=LOG_DIR / "actions.log"),
        ChildSpec("rasa", rasa_command(rasa_port), cwd=ROOT, log=LOG_DIR / "rasa.log",
                  env=rasa_env(env, f"http://127.0.0.1:{action_port}/webhook",
                               f"http://127.0.0.1:{args.gateway_port}/nlg", args.rasa_token)),
    ])
    fallbacks: dict[str, float] = {}

    def on_call(call: TelegramCall) -> None:
        text = str(call.params.get("text"))
        if call.method == "sendMessage" and call.status == 200 and text.startswith(FALLBACK_MARK):
            fallbacks.setdefault(str(call.params.get("chat_id")), call.at)

    os.environ.update({"BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL, "BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                       "RASA_RECOVERY_PROBE_SECONDS": str(args.probe_seconds)})
    telegram = FakeTelegramProcess(TOKEN).start()
    telegram.listeners.append(on_call)
    with supervisor, tempfile.TemporaryDirectory(prefix="bench-outage-") as workdir:
        process, gateway = start_gateway(args, rasa_url, telegram.url, workdir)
        try:
            if _wait(lambda: rasa_model_ready(rasa_url, args.rasa_token), 300, step=1) is None:
                raise SystemExit(f"Rasa did not load its model (see {LOG_DIR})")
            with httpx.Client(timeout=30) as http:
                _wait(lambda: _gateway_up(http, gateway), 60, step=0.2)
                login = http.post(f"{gateway}/api/v1/auth/login",
                                  json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                login.raise_for_status()
                stream = CaseStream(gateway, login.json()["access_token"])
                if not stream.ready.wait(10):
                    raise SystemExit("the console event stream did not open")
                print(f"RASA_RECOVERY_PROBE_SECONDS={args.probe_seconds:g}; inbound retry backoff: the "
                      "gateway's default (1 s doubling to 30 s)", flush=True)
                for i in range(args.rounds):
                    one_round(i, http, gateway, supervisor, rasa_url, args.rasa_token, stream, fallbacks)
        finally:
            stop_process(process)
            telegram.stop()


def _gateway_up(http: httpx.Client, gateway: str) -> bool:
    try:
        return http.get(f"{gateway}/health").status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
