"""scripts/supervisor.py keeps `make run`'s processes up: a child that dies is restarted, one that
keeps dying waits longer each time, and stopping the supervisor stops every child. The children are
small Python processes; every wait is for a condition."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from supervisor import Backoff, ChildSpec, Supervisor  # noqa: E402

from tests.gateway.waiting import eventually_blocking  # noqa: E402

# Stops on SIGINT as the real children do (uvicorn and Sanic install their own handler): a process
# started from a shell script in the background inherits SIGINT ignored, and Python then leaves it so.
SLEEPER = [sys.executable, "-c",
           "import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
           "print('ready', flush=True)\nwhile True: time.sleep(1)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]
# Ignores SIGINT: only the kill after the stop timeout ends it.
STUBBORN = [sys.executable, "-c",
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('ready', flush=True)\n"
            "while True: time.sleep(1)"]


def _fast_backoff() -> Backoff:
    return Backoff(initial=0.05, maximum=0.4, reset_after=60.0)


@pytest.fixture
def reports() -> list[str]:
    return []


@pytest.fixture
def make_supervisor(reports: list[str]) -> Iterator[object]:
    started: list[Supervisor] = []

    def make(*children: ChildSpec, stop_timeout: float = 10.0) -> Supervisor:
        supervisor = Supervisor(children, backoff=_fast_backoff, report=reports.append, poll_interval=0.02,
                                stop_timeout=stop_timeout)
        supervisor.start()
        started.append(supervisor)
        return supervisor

    yield make
    for supervisor in started:
        supervisor.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _running(supervisor: Supervisor, name: str) -> subprocess.Popen[bytes]:
    return eventually_blocking(lambda: supervisor.process(name), what=f"{name} running")


def test_a_killed_child_is_restarted_and_reported(make_supervisor, reports: list[str]) -> None:
    supervisor = make_supervisor(ChildSpec("rasa", SLEEPER), ChildSpec("gateway", SLEEPER))
    first = _running(supervisor, "rasa")
    gateway = _running(supervisor, "gateway")

    first.kill()

    second = eventually_blocking(
        lambda: (p := supervisor.process("rasa")) is not None and p.pid != first.pid and p,
        what="rasa started again")
    assert second.poll() is None
    [restart] = supervisor.restarts
    assert (restart.name, restart.exit_code, restart.delay) == ("rasa", -signal.SIGKILL, 0.05)
    assert reports == ["rasa was killed by SIGKILL (exit code -9) after "
                       f"{restart.uptime:.1f} s; restarting in 0.05 s (restart 1)"]
    assert supervisor.process("gateway") is gateway  # the others are left alone


def test_a_child_that_keeps_dying_waits_longer_each_time(make_supervisor, reports: list[str]) -> None:
    supervisor = make_supervisor(ChildSpec("actions", CRASHER))

    eventually_blocking(lambda: len(supervisor.restarts) >= 5, what="five restarts")

    delays = [r.delay for r in supervisor.restarts[:5]]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.4]  # doubling, capped
    assert all(r.exit_code == 3 for r in supervisor.restarts)
    assert reports[0].startswith("actions exited with code 3 after ")
    assert reports[2].endswith("restarting in 0.2 s (restart 3)")


def test_a_child_that_cannot_start_is_retried(make_supervisor, reports: list[str], tmp_path: Path) -> None:
    supervisor = make_supervisor(ChildSpec("gateway", [str(tmp_path / "missing")]))

    eventually_blocking(lambda: len(supervisor.restarts) >= 2, what="two attempts")

    assert [r.exit_code for r in supervisor.restarts[:2]] == [None, None]
    assert "gateway could not be started after" in reports[1]


def test_stopping_the_supervisor_stops_every_child(make_supervisor, tmp_path: Path) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ("actions", "rasa", "gateway")}
    supervisor = make_supervisor(ChildSpec("actions", SLEEPER, log=logs["actions"]),
                                 ChildSpec("rasa", STUBBORN, log=logs["rasa"]),
                                 ChildSpec("gateway", SLEEPER, log=logs["gateway"]), stop_timeout=0.5)
    procs = [_running(supervisor, name) for name in ("actions", "rasa", "gateway")]
    # each has its SIGINT handler in place (or, the stubborn one, ignores it)
    eventually_blocking(lambda: all(log.exists() and "ready" in log.read_text() for log in logs.values()),
                        what="every child ready")

    supervisor.stop()

    assert all(proc.poll() is not None for proc in procs)
    assert not any(_alive(proc.pid) for proc in procs)
    assert procs[0].returncode == procs[2].returncode == -signal.SIGINT  # asked to stop, as Ctrl-C would
    assert procs[1].returncode == -signal.SIGKILL  # ignored SIGINT: killed after the timeout
    assert supervisor.restarts == []  # nothing was restarted while stopping
    assert all(supervisor.process(name) is None for name in ("actions", "rasa", "gateway"))


def test_children_do_not_receive_the_terminal_ctrl_c(make_supervisor) -> None:
    """Ctrl-C reaches the terminal's foreground group; the children are in their own, so only the
    supervisor decides when they stop (otherwise they die first and are restarted while it unwinds)."""
    supervisor = make_supervisor(ChildSpec("rasa", SLEEPER))
    proc = _running(supervisor, "rasa")
    assert os.getpgid(proc.pid) != os.getpgid(0)


def test_backoff_doubles_to_its_cap_and_resets_after_a_long_uptime() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, reset_after=60.0)
    quick = [backoff.after_exit(uptime=2.0) for _ in range(7)]
    assert quick == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.after_exit(uptime=61.0) == 1.0  # a minute up: back to the first delay
    assert backoff.after_exit(uptime=0.5) == 2.0
