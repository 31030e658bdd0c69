"""Keep a few local processes running: restart each one that dies, with exponential backoff.

    supervisor = Supervisor([ChildSpec("rasa", [...]), ChildSpec("gateway", [...])])
    with supervisor:          # starts them all; stops them all on exit (Ctrl-C, SIGTERM, error)
        supervisor.wait()     # until stopped

A child that exits (crash, OOM kill, `kill -9`) is started again after a delay that doubles on each
death (1 s, 2 s, 4 s ... up to 30 s) and falls back to 1 s once the child has stayed up for a minute.
Every exit and restart is reported on the console: which process, its exit code, the next attempt.

Written here rather than taken from a library: supervisord and circus are daemons with their own
configuration files, and supervisord gives up on a process after a few quick deaths (FATAL) while a
local stack should keep trying; honcho does not restart at all. This is ~150 lines of the standard
library and runs under either environment's Python, like scripts/services.py.

Children run in their own session (process group): a Ctrl-C in the terminal reaches only the
supervisor, which then stops every child itself, instead of the children dying first and being
restarted while the supervisor unwinds.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Backoff:
    """Delay before the next restart: doubles on each death, reset by a long enough uptime."""

    initial: float = 1.0
    maximum: float = 30.0
    reset_after: float = 60.0
    _next: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next = self.initial

    def after_exit(self, uptime: float) -> float:
        """The delay before restarting a child that ran for `uptime` seconds."""
        if uptime >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self.maximum, delay * 2)
        return delay


@dataclass
class ChildSpec:
    """How to start one supervised process. `log`: append its output there (else the console)."""

    name: str
    command: Sequence[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    log: Path | None = None


@dataclass
class Restart:
    """One exit seen by the supervisor (exit code None: the process could not be started)."""

    name: str
    exit_code: int | None
    uptime: float
    delay: float


@dataclass
class _Child:
    spec: ChildSpec
    backoff: Backoff
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    starts: int = 0


def describe_exit(code: int | None) -> str:
    if code is None:
        return "could not be started"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name} (exit code {code})"
        except ValueError:
            return f"was killed by signal {-code} (exit code {code})"
    return f"exited with code {code}"


def console_report(message: str) -> None:
    print(f"[supervisor] {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts the children in order, restarts any that dies, stops them all on `stop()`."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        backoff: Callable[[], Backoff] = Backoff,
        report: Callable[[str], None] = console_report,
        poll_interval: float = 0.2,
        stop_timeout: float = 20.0,
    ) -> None:
        self._children = [_Child(spec=spec, backoff=backoff()) for spec in children]
        self._report = report
        self._poll_interval = poll_interval
        self._stop_timeout = stop_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts: list[Restart] = []  # every exit seen, in order

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        with self._lock:
            for child in self._children:
                self._spawn(child)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Block until `stop()` (Ctrl-C and SIGTERM raise in the caller's thread and unwind it)."""
        while not self._stopping.wait(1.0):
            pass

    def process(self, name: str) -> subprocess.Popen[bytes] | None:
        """The running process of that child, or None between a death and its restart."""
        child = next(c for c in self._children if c.spec.name == name)
        with self._lock:
            proc = child.proc
        return proc if proc is not None and proc.poll() is None else None

    def stop(self) -> None:
        """Stop watching, then ask every child to stop (SIGINT, as Ctrl-C would) and kill the ones
        still running after `stop_timeout` seconds. Idempotent."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            procs = [c.proc for c in reversed(self._children) if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + self._stop_timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _spawn(self, child: _Child) -> None:
        spec = child.spec
        child.starts += 1
        child.started_at = time.monotonic()
        child.restart_at = None
        try:
            if spec.log is not None:
                spec.log.parent.mkdir(parents=True, exist_ok=True)
                with open(spec.log, "ab") as log:
                    child.proc = subprocess.Popen(list(spec.command), cwd=spec.cwd, env=spec.env, stdout=log,
                                                  stderr=subprocess.STDOUT, start_new_session=True)
            else:
                child.proc = subprocess.Popen(list(spec.command), cwd=spec.cwd, env=spec.env,
                                              start_new_session=True)
        except OSError as exc:
            child.proc = None
            self._report(f"{spec.name} could not be started: {exc}")
            self._schedule_restart(child, None)

    def _schedule_restart(self, child: _Child, exit_code: int | None) -> None:
        uptime = time.monotonic() - child.started_at
        delay = child.backoff.after_exit(uptime)
        child.restart_at = time.monotonic() + delay
        self.restarts.append(Restart(child.spec.name, exit_code, uptime, delay))
        self._report(f"{child.spec.name} {describe_exit(exit_code)} after {uptime:.1f} s; "
                     f"restarting in {delay:g} s (restart {child.starts})")

    def _watch(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            with self._lock:
                if self._stopping.is_set():
                    return
                now = time.monotonic()
                for child in self._children:
                    if child.restart_at is not None:
                        if now >= child.restart_at:
                            self._spawn(child)
                    elif child.proc is not None and child.proc.poll() is not None:
                        self._schedule_restart(child, child.proc.returncode)
