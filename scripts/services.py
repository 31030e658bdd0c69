"""Start the Rasa server and the action server on free local ports, for tests, eval and runs.

Used as a library (`running_stack()` context manager) and from the command line:

    python scripts/services.py eval SET.jsonl         # start Rasa, run the scorer, stop
    python scripts/services.py serve --with-actions   # start and print the URLs until Ctrl-C
    python scripts/services.py exec -- CMD ...        # start Rasa + actions, run CMD with
                                                      # RASA_TEST_URL/RASA_TEST_TOKEN set, stop

Standard library only: it runs under either environment's Python.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MODEL = ROOT / "models" / "current.tar.gz"
LOG_DIR = ROOT / "var" / "log"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # endpoints.yml names these; empty means Rasa's in-memory tracker and lock stores.
    env.setdefault("TRACKER_STORE_URL", "")
    env.setdefault("LOCK_STORE_URL", "")
    env.setdefault("NLG_TOKEN", "")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class Stack:
    rasa_url: str
    token: str
    action_url: str | None


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}; see {LOG_DIR}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f} s")


def rasa_model_ready(rasa_url: str, token: str) -> bool:
    """Rasa answers a parse: its model is loaded."""
    body = json.dumps({"text": "xin chào"}).encode()
    request = urllib.request.Request(
        f"{rasa_url}/model/parse?token={token}", data=body, headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_model(rasa_url: str, token: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Rasa exited with code {proc.returncode}; see {LOG_DIR}")
        if rasa_model_ready(rasa_url, token):
            return
        time.sleep(1)
    raise TimeoutError(f"Rasa did not load its model within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Ask a server we started to stop (SIGINT, as Ctrl-C would), then kill it after 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def action_server_command(port: int) -> list[str]:
    # the action server's interface comes from SANIC_HOST (action_server_env): it has no option for it
    return [str(RASA_BIN), "run", "actions", "--actions", "actions", "--port", str(port)]


def action_server_env(env: dict[str, str], rasa_url: str | None, token: str) -> dict[str, str]:
    """The actions read a message in its context through Rasa's own NLU (`rasa_url` None: they don't)."""
    # SANIC_HOST: rasa_sdk listens on 0.0.0.0 unless told otherwise; only Rasa on this machine calls it.
    action_env = dict(env, RASA_TOKEN=token, SANIC_HOST="127.0.0.1")
    if rasa_url is None:
        action_env.pop("RASA_URL", None)
    else:
        action_env["RASA_URL"] = rasa_url
    return action_env


def rasa_command(port: int, model: Path = MODEL) -> list[str]:
    """Rasa's server through rasa_auth.launch: the token comes from RASA_TOKEN (rasa_env), never from
    the arguments, which `ps` shows."""
    return [str(RASA_PYTHON), "-m", "rasa_auth.launch", "run", "--enable-api",
            "--model", str(model), "--port", str(port),
            "--interface", "127.0.0.1", "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml"]


def rasa_env(env: dict[str, str], action_url: str | None, nlg_url: str, token: str) -> dict[str, str]:
    """Rasa's environment: RASA_TOKEN is its HTTP API's token and the REST channel's (credentials.yml)."""
    return dict(env, ACTION_SERVER_URL=action_url or "http://127.0.0.1:5055/webhook", NLG_URL=nlg_url,
                RASA_TOKEN=token)


def new_token() -> str:
    # hex: a token starting with "-" would be read by rasa's argument parser as an option
    return secrets.token_hex(16)


@contextlib.contextmanager
def running_stack(
    *,
    with_actions: bool = True,
    rasa_port: int | None = None,
    action_port: int | None = None,
    nlg_url: str = "",
    token: str | None = None,
    model: Path = MODEL,
    actions_read_context: bool = True,
) -> Iterator[Stack]:
    """Rasa (HTTP API on, auth token) and optionally the action server, stopped on exit."""
    if not model.exists():
        raise FileNotFoundError(f"no trained model at {model}: run `make train`")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = base_env()
    token = token or new_token()
    rasa_port = rasa_port or free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    procs: list[subprocess.Popen[bytes]] = []
    action_url = None
    try:
        if with_actions:
            action_port = action_port or free_port()
            action_url = f"http://127.0.0.1:{action_port}/webhook"
            action_env = action_server_env(env, rasa_url if actions_read_context else None, token)
            with open(LOG_DIR / "actions.log", "ab") as log:
                actions = subprocess.Popen(action_server_command(action_port), cwd=ROOT, env=action_env,
                                           stdout=log, stderr=subprocess.STDOUT)
            procs.append(actions)
        with open(LOG_DIR / "rasa.log", "ab") as log:
            rasa = subprocess.Popen(rasa_command(rasa_port, model), cwd=ROOT,
                                    env=rasa_env(env, action_url, nlg_url, token),
                                    stdout=log, stderr=subprocess.STDOUT)
        procs.append(rasa)
        (ROOT / "var").mkdir(exist_ok=True)
        (ROOT / "var" / "rasa.pid").write_text(str(rasa.pid))
        if with_actions:
            _wait_http(f"http://127.0.0.1:{action_port}/health", 120, procs[0], "action server")
        _wait_model(rasa_url, token, 300, rasa)
        yield Stack(rasa_url=rasa_url, token=token, action_url=action_url)
    finally:
        for proc in reversed(procs):
            stop_process(proc)


def stop_on_sigterm() -> None:
    """A process manager stops us with SIGTERM: unwind like Ctrl-C so the servers we started stop too
    (Python's default for SIGTERM exits at once and would leave Rasa and the gateway running)."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str] | None = None) -> int:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="score a labelled set against a fresh Rasa server")
    ev.add_argument("set")
    ev.add_argument("--scorer", default=str(ROOT.parent / "shared" / "eval" / "score.py"))
    ev.add_argument("--json")
    ev.add_argument("--model", type=Path, default=MODEL)
    ev.add_argument("--errors", default="15")
    serve = sub.add_parser("serve", help="start Rasa (and actions) until Ctrl-C")
    serve.add_argument("--with-actions", action="store_true")
    serve.add_argument("--rasa-port", type=int)
    serve.add_argument("--action-port", type=int)
    serve.add_argument("--nlg-url", default="",
                       help="the gateway's /nlg (as in production), e.g. http://127.0.0.1:8000/nlg")
    ex = sub.add_parser("exec", help="run a command with Rasa and actions started")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "eval":
        with running_stack(with_actions=False, model=args.model) as stack:
            cmd = [sys.executable, args.scorer, args.set, "--url", stack.rasa_url,
                   "--token", stack.token, "--errors", args.errors]
            if args.json:
                cmd += ["--json", args.json]
            return subprocess.call(cmd)
    if args.command == "serve":
        with running_stack(with_actions=args.with_actions, rasa_port=args.rasa_port,
                           action_port=args.action_port, nlg_url=args.nlg_url) as stack:
            print(f"Rasa: {stack.rasa_url} (token {stack.token}); actions: {stack.action_url}",
                  flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
        return 0
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    with running_stack(with_actions=True) as stack:
        env = dict(os.environ, RASA_TEST_URL=stack.rasa_url, RASA_TEST_TOKEN=stack.token)
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
