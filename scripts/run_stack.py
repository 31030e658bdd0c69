"""`make run`: the whole local stack in the foreground until Ctrl-C.

Starts the action server and Rasa (HTTP API on, a fresh auth token) from the Rasa environment,
then the gateway from this environment, with embedded defaults: SQLite, in-memory Rasa stores,
the web chat and the consoles on http://127.0.0.1:8000. Telegram and Zalo switch on when their
settings are present in the environment or .env.

The three processes are supervised (scripts/supervisor.py): one that dies is started again with
exponential backoff (1 s doubling to 30 s, reset after a minute up), and each restart is reported
on the console. Ctrl-C or SIGTERM stops them all.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import (  # noqa: E402
    LOG_DIR,
    MODEL,
    ROOT,
    action_server_command,
    action_server_env,
    base_env,
    new_token,
    rasa_command,
    rasa_env,
    rasa_model_ready,
    stop_on_sigterm,
)
from supervisor import ChildSpec, Supervisor  # noqa: E402

GATEWAY_PYTHON = ROOT / ".venv" / "bin" / "python"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answers (the gateway's 503 while Rasa or the database is not ready yet)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until(checks: dict[str, Callable[[], bool]], timeout: float = 300) -> list[str]:
    """Poll until every check passes; the names of those still failing after `timeout`."""
    deadline = time.monotonic() + timeout
    pending = dict(checks)
    while pending and time.monotonic() < deadline:
        pending = {name: check for name, check in pending.items() if not check()}
        if pending:
            time.sleep(1)
    return list(pending)


def stack_children(gateway_url: str, port: int, host: str, rasa_port: int, action_port: int,
                   token: str) -> list[ChildSpec]:
    """The action server, Rasa and the gateway, with fixed ports and token so a restart finds the others."""
    env = base_env()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    action_url = f"http://127.0.0.1:{action_port}/webhook"
    gateway_env = dict(os.environ, RASA_URL=rasa_url, RASA_TOKEN=token, GATEWAY_PORT=str(port), GATEWAY_HOST=host)
    gateway_env.setdefault("PUBLIC_BASE_URL", gateway_url)
    return [
        ChildSpec("action server", action_server_command(action_port), cwd=ROOT,
                  env=action_server_env(env, rasa_url, token), log=LOG_DIR / "actions.log"),
        ChildSpec("rasa", rasa_command(rasa_port), cwd=ROOT,
                  env=rasa_env(env, action_url, f"{gateway_url}/nlg", token), log=LOG_DIR / "rasa.log"),
        ChildSpec("gateway", [str(GATEWAY_PYTHON), "-m", "api"], cwd=ROOT, env=gateway_env),
    ]


def _docs_line(url: str) -> str:
    """What the ready message says about /docs: asked of the running gateway, so it is always true."""
    try:
        with urllib.request.urlopen(f"{url}/docs", timeout=5):
            return f"{url}/docs"
    except (urllib.error.URLError, OSError):
        return "off (API_DOCS=on serves /docs and /openapi.json)"


def main() -> int:
    stop_on_sigterm()
    # The children have their own session, so closing the terminal reaches only us: stop them too.
    signal.signal(signal.SIGHUP, lambda _signum, _frame: sys.exit(128 + signal.SIGHUP))
    if not MODEL.exists():
        print(f"no trained model at {MODEL}: run `make train`", file=sys.stderr)
        return 1
    port = int(os.environ.get("GATEWAY_PORT", "8000"))
    host = os.environ.get("GATEWAY_HOST", "127.0.0.1")
    gateway_url = f"http://{host}:{port}"
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    token = new_token()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    print("Starting the action server, Rasa and the gateway (loading the model takes a few seconds)...",
          flush=True)
    supervisor = Supervisor(stack_children(gateway_url, port, host, rasa_port, action_port, token))
    try:
        with supervisor:
            late = _wait_until({
                "action server": lambda: _answers(f"http://127.0.0.1:{action_port}/health"),
                "rasa": lambda: rasa_model_ready(rasa_url, token),
                "gateway": lambda: _answers(f"{gateway_url}/health"),
            })
            if late:
                print(f"Still not answering after 300 s: {', '.join(late)} (logs in {LOG_DIR}); "
                      "still supervised.", flush=True)
            print("\nStarted." if late else "\nReady.", flush=True)
            print(
                f"  Web chat:           {gateway_url}/chat\n"
                f"  Counselor console:  {gateway_url}/console\n"
                f"  Content console:    {gateway_url}/content\n"
                f"  API docs:           {_docs_line(gateway_url)}\n"
                f"  Rasa:               {rasa_url} (logs in {LOG_DIR})\n"
                "A process that dies is restarted. Press Ctrl-C to stop.",
                flush=True,
            )
            supervisor.wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
