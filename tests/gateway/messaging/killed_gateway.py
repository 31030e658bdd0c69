"""A gateway as a real process (`python -m api`) killed with SIGKILL in the middle of a burst of
Telegram updates, and restarted: the test in test_kill_gateway.py and scripts/bench_reliability.py.

The burst behaves as Telegram does: each chat's updates go one after the other, and an update that
got no 200 (the process is dead, the connection was cut) is sent again, same update_id, until one
does. An update whose 200 was lost with the process is thus delivered twice: the gateway must
answer it once.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update

REPO = Path(__file__).resolve().parents[3]
REDELIVERY_SECONDS = 0.2  # Telegram waits longer; shorter here so the restart is seen at once


def burst_texts(chats: list[int], per_chat: int) -> dict[int, list[str]]:
    """The texts each chat sends, numbered so order and duplicates show."""
    return {chat: [f"tin {n} của {chat}" for n in range(1, per_chat + 1)] for chat in chats}


class GatewayProcess:
    """`python -m api` with its settings in the environment, on a fixed port so a restart keeps it."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = {**os.environ, **env, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start the process; the monotonic time it was started."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO, env=self.env,  # noqa: S603
                                            stdout=subprocess.DEVNULL, stderr=log)
        return time.monotonic()

    def kill_and_restart(self) -> float:
        """SIGKILL, then start again at once; the monotonic time of the restart."""
        self.kill()
        return self.start()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, claims and connections are left as they are."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"the gateway exited while starting; see {self.log_path}")
                try:
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the gateway did not answer /health within {timeout:.0f} s")


@dataclass
class Burst:
    """What the burst saw: acknowledged updates and how many were sent again."""

    acked: int = 0
    redelivered: int = 0
    chat_updates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


async def _send_chat(http: httpx.AsyncClient, url: str, updates: list[dict[str, Any]], burst: Burst,
                     deadline: float, secret: str) -> None:
    for update in updates:
        body = json.dumps(update).encode()
        tries = 0
        while True:
            tries += 1
            try:
                response = await http.post(f"{url}/webhooks/telegram", content=body, headers={
                    "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("an update got no 200 before the burst's deadline")
            await asyncio.sleep(REDELIVERY_SECONDS)
        burst.acked += 1
        burst.redelivered += tries > 1


async def burst_with_kill(url: str, texts: dict[int, list[str]], *, kill_after_acks: int,
                          kill_and_restart: Callable[[], float], secret: str = TELEGRAM_SECRET,
                          timeout: float = 120.0) -> tuple[Burst, float]:
    """Send every chat's texts concurrently (each chat in order) to the gateway at `url`; once
    `kill_after_acks` updates were acknowledged call `kill_and_restart` (SIGKILL and start again; it
    returns the monotonic time of the restart). Returns the burst and that time; it ends when every
    update was acknowledged."""
    burst = Burst(chat_updates={chat: [text_update(chat, text) for text in chat_texts]
                                for chat, chat_texts in texts.items()})
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_connections=len(texts) + 5)) as http:
        senders = [asyncio.create_task(_send_chat(http, url, updates, burst, deadline, secret))
                   for updates in burst.chat_updates.values()]
        while burst.acked < kill_after_acks:
            if all(task.done() for task in senders):
                raise AssertionError("the burst ended before the gateway was killed")
            await asyncio.sleep(0.005)
        restarted_at = kill_and_restart()
        await asyncio.gather(*senders)
    return burst, restarted_at


def without_repeats(answers: list[str]) -> list[str]:
    """The answers with a send repeated right after itself counted once."""
    return [answer for i, answer in enumerate(answers) if i == 0 or answers[i - 1] != answer]


def repeats(sent: Callable[[int], list[str]], texts: dict[int, list[str]]) -> int:
    """Sends repeated right after themselves, over all chats."""
    return sum(len(sent(chat)) - len(without_repeats(sent(chat))) for chat in texts)


def answers_in_order(sent: Callable[[int], list[str]], texts: dict[int, list[str]]) -> bool:
    """Every chat got the fake Rasa's echo of each of its texts: all of them, in order. A send that was
    in flight when the process died may come once more right after itself (Telegram has no
    idempotency key: delivery is at least once, a repeat beats a loss); `repeats` counts those."""
    return all(without_repeats(sent(chat)) == [f"Mình nghe rồi: {text}" for text in chat_texts]
               for chat, chat_texts in texts.items())


def problems(sent: Callable[[int], list[str]], texts: dict[int, list[str]]) -> list[str]:
    """What differs from one answer per text in order, chat by chat (for a failure message)."""
    found = []
    for chat, chat_texts in texts.items():
        expected = [f"Mình nghe rồi: {text}" for text in chat_texts]
        got = sent(chat)
        if without_repeats(got) != expected:
            duplicates = sorted({t for t in got if got.count(t) > 1})
            missing = [t for t in expected if t not in got]
            unexpected = [t for t in got if t not in expected]
            found.append(f"chat {chat}: {len(got)} answers, missing {missing}, twice {duplicates}, "
                         f"unexpected {unexpected}, "
                         f"in order: {[t for t in got if t in expected] == [t for t in expected if t in got]}")
    return found


def warnings_logged(log_path: Path, limit: int = 20) -> list[str]:
    """The gateway log's last WARNING and ERROR lines (for a failure message: why a turn failed)."""
    if not log_path.exists():
        return []
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line[:300] for line in lines if "warning" in line.lower() or "error" in line.lower()][-limit:]
