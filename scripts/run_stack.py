"""`make run`: the whole local stack in the foreground until Ctrl-C.

Starts the action server and Rasa (HTTP API on, a fresh auth token) from the Rasa environment,
then the gateway from this environment, with embedded defaults: SQLite, in-memory Rasa stores,
the web chat and the consoles on http://127.0.0.1:8000. Telegram and Zalo switch on when their
settings are present in the environment or .env.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import LOG_DIR, ROOT, running_stack, stop_on_sigterm, stop_process  # noqa: E402

GATEWAY_PYTHON = ROOT / ".venv" / "bin" / "python"


def _wait_gateway(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (503 while Rasa or the database is not ready yet)
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError("the gateway did not start")


def _docs_line(url: str) -> str:
    """What the ready message says about /docs: asked of the running gateway, so it is always true."""
    try:
        with urllib.request.urlopen(f"{url}/docs", timeout=5):
            return f"{url}/docs"
    except (urllib.error.URLError, OSError):
        return "off (API_DOCS=on serves /docs and /openapi.json)"


def main() -> int:
    stop_on_sigterm()
    port = int(os.environ.get("GATEWAY_PORT", "8000"))
    host = os.environ.get("GATEWAY_HOST", "127.0.0.1")
    gateway_url = f"http://{host}:{port}"
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    print("Starting the action server and Rasa (loading the model takes a few seconds)...", flush=True)
    with running_stack(with_actions=True, rasa_port=rasa_port, action_port=action_port,
                       nlg_url=f"{gateway_url}/nlg") as stack:
        env = dict(os.environ, RASA_URL=stack.rasa_url, RASA_TOKEN=stack.token,
                   GATEWAY_PORT=str(port), GATEWAY_HOST=host)
        env.setdefault("PUBLIC_BASE_URL", gateway_url)
        gateway = subprocess.Popen([str(GATEWAY_PYTHON), "-m", "api"], cwd=ROOT, env=env)
        try:
            _wait_gateway(gateway_url, gateway)
            print(
                "\nReady.\n"
                f"  Web chat:           {gateway_url}/chat\n"
                f"  Counselor console:  {gateway_url}/console\n"
                f"  Content console:    {gateway_url}/content\n"
                f"  API docs:           {_docs_line(gateway_url)}\n"
                f"  Rasa:               {stack.rasa_url} (logs in {LOG_DIR})\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            gateway.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(gateway)
    return 0


if __name__ == "__main__":
    sys.exit(main())
