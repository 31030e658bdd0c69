"""`python -m api` stops within its bound on SIGTERM even while a console holds an event stream open, and
on SIGINT (Ctrl-C, `make run`'s supervisor) without a traceback."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.server import free_port
from tests.gateway.staff import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.gateway.waiting import eventually_blocking

REPO = Path(__file__).resolve().parents[3]
GRACEFUL_SECONDS = 3   # TIMEOUT_GRACEFUL_SHUTDOWN_SECONDS: open connections
WORKER_GRACE = 2       # SHUTDOWN_GRACE_SECONDS: messages in flight
BOUND = GRACEFUL_SECONDS + WORKER_GRACE + 5  # + process teardown on a busy 2-core machine


@pytest.fixture
def gateway(tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))},
        "PYTHONPATH": str(REPO),
        "ENVIRONMENT": "test",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "RASA_URL": fake_rasa.url,
        "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ID_HMAC_SECRET": "shutdown-test-secret",
        "BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TIMEOUT_GRACEFUL_SHUTDOWN_SECONDS": str(GRACEFUL_SECONDS),
        "SHUTDOWN_GRACE_SECONDS": str(WORKER_GRACE),
        "LOG_FORMAT": "json",
    }
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        # cwd is the test's folder, so no developer's .env is read.
        process = subprocess.Popen([sys.executable, "-m", "api"], cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            yield process, f"http://127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the gateway exited while starting ({process.returncode})")
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigterm_with_an_open_event_stream_exits_in_bound(gateway: tuple[subprocess.Popen[bytes], str],
                                                          tmp_path: Path) -> None:
    process, url = gateway
    eventually_blocking(lambda: _ready(url, process), timeout=60, what="the gateway ready")
    with httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=BOUND + 5)) as http:
        token = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                          ).json()["access_token"]
        events: list[str] = []
        with http.stream("GET", "/api/v1/events", headers={"Authorization": f"Bearer {token}"}) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            for line in lines:
                if line.startswith("data:"):
                    events.append(json.loads(line[5:])["type"])
                    break
            assert events == ["ready"]  # the console is connected and the stream stays open
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            for line in lines:  # the stream ends by itself, well before the server's cut
                if line.startswith("data:"):
                    events.append(json.loads(line[5:])["type"])
            stream_ended = time.monotonic() - stopped_at
        process.wait(timeout=BOUND)
        exited = time.monotonic() - stopped_at
    log = (tmp_path / "gateway.log").read_text(errors="replace")
    assert events == ["ready", "server_stopping"], log
    assert stream_ended < GRACEFUL_SECONDS, (stream_ended, log)
    assert exited < BOUND, (exited, log)
    assert process.returncode in (0, -signal.SIGTERM), log
    assert "timeout graceful shutdown exceeded" not in log  # nothing had to be cut
    assert all(line.startswith("{") for line in log.splitlines() if line.strip()), log  # JSON logs


def test_sigint_stops_the_gateway_quietly(gateway: tuple[subprocess.Popen[bytes], str], tmp_path: Path) -> None:
    process, url = gateway
    eventually_blocking(lambda: _ready(url, process), timeout=60, what="the gateway ready")
    process.send_signal(signal.SIGINT)
    process.wait(timeout=BOUND)
    log = (tmp_path / "gateway.log").read_text(errors="replace")
    assert process.returncode == 0, log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
    assert all(line.startswith("{") for line in log.splitlines() if line.strip()), log  # JSON logs only
