"""`make run-scaled`: the scaled topology on one machine, in the foreground until Ctrl-C.

    front :8000 ─ balancer ─┬─ gateway 1 ─┐                 ┌─ Rasa 1 ─┐
                            └─ gateway 2 ─┴─ Rasa balancer ─┴─ Rasa 2 ─┴─ action server
    gateways: one PostgreSQL database; case events through Redis
    Rasa: one SQL tracker store (user text sealed) + the Redis lock store; each replica takes its
          model from the gateways (GET /api/v1/model through the front port), as deployed

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must be running; the databases
`SCALED_DATABASE` (default chatbot_scaled) and `<that>_rasa` are created when missing and the
gateway's migrations run once before the gateways start. The gateway's Rasa client takes one URL, so
a second balancer (scripts/balancer.py) spreads its connections over the Rasa replicas. Every process
is supervised (scripts/supervisor.py) and restarted when it dies.

`scaled_topology()` starts the same processes for the tests and scripts/bench_scaled.py.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import os
import secrets
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # api/, for the migrations
from run_stack import GATEWAY_PYTHON, _answers, _wait_until  # noqa: E402
from services import (  # noqa: E402
    LOG_DIR,
    MODEL,
    ROOT,
    action_server_command,
    action_server_env,
    base_env,
    free_port,
    new_token,
    rasa_command,
    rasa_env,
    rasa_model_ready,
    stop_on_sigterm,
)
from supervisor import ChildSpec, Supervisor  # noqa: E402

POSTGRES = "postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
BALANCER = Path(__file__).resolve().parent / "balancer.py"
KEY_FILE = ROOT / "var" / "scaled-tracker.key"


@dataclass
class Topology:
    """Ports and names of one scaled run; `gateway_env` is added to both gateways' environment."""

    database: str
    front_port: int = field(default_factory=free_port)
    rasa_front_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    gateway_ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    rasa_ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    token: str = field(default_factory=new_token)
    tracker_key: str = ""
    redis_db: int = 3
    gateway_env: dict[str, str] = field(default_factory=dict)
    model_pull_seconds: int = 60  # how often each Rasa replica asks the gateways for a newer model

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def rasa_front_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_front_port}"

    def rasa_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[replica]}"

    def gateway_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.gateway_ports[replica]}"

    @property
    def gateway_database_url(self) -> str:
        return f"postgresql+psycopg://{POSTGRES}/{self.database}"

    @property
    def tracker_store_url(self) -> str:
        return f"postgresql://{POSTGRES}/{self.database}_rasa"


def new_tracker_key() -> str:
    """A TRACKER_ENCRYPTION_KEY (rasa_stores.sealing: URL-safe base64 of 64 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode()


def prepare_databases(topology: Topology) -> None:
    """Create the gateway's and Rasa's databases when missing; migrate the gateway's once."""
    import psycopg

    from api.db.migrate import upgrade_to_heads

    with psycopg.connect(f"postgresql://{POSTGRES}/test", autocommit=True) as connection:
        for name in (topology.database, f"{topology.database}_rasa"):
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')
    upgrade_to_heads(topology.gateway_database_url)


def drop_databases(topology: Topology) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://{POSTGRES}/test", autocommit=True) as connection:
        for name in (topology.database, f"{topology.database}_rasa"):
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _balancer(name: str, port: int, backends: list[int]) -> ChildSpec:
    command = [str(GATEWAY_PYTHON), str(BALANCER), "--listen", str(port)]
    for backend in backends:
        command += ["--backend", f"127.0.0.1:{backend}"]
    return ChildSpec(name, command, cwd=ROOT, log=LOG_DIR / "balancers.log")


def scaled_children(topology: Topology, rasa_replicas: int = 2) -> list[ChildSpec]:
    """Action server, Rasa replicas and their balancer, two gateways and the front balancer."""
    env = base_env()
    action_url = f"http://127.0.0.1:{topology.action_port}/webhook"
    stores = {"TRACKER_STORE_URL": topology.tracker_store_url, "LOCK_STORE_URL": f"{REDIS}/{topology.redis_db}",
              "TRACKER_ENCRYPTION_KEY": topology.tracker_key}
    # The replicas pull the model the gateways serve (rasa_auth/launch.py), so a model approved in
    # the content console reaches both; Rasa ignores --model when a model server is set.
    model_server = {"MODEL_SERVER_URL": f"{topology.front_url}/api/v1/model",
                    "MODEL_PULL_SECONDS": str(topology.model_pull_seconds)}
    children = [ChildSpec("action server", action_server_command(topology.action_port), cwd=ROOT,
                          env=action_server_env(env, topology.rasa_front_url, topology.token),
                          log=LOG_DIR / "actions.log")]
    for replica in range(rasa_replicas):
        children.append(ChildSpec(
            f"rasa {replica + 1}", rasa_command(topology.rasa_ports[replica]), cwd=ROOT,
            env=dict(rasa_env(env, action_url, f"{topology.front_url}/nlg", topology.token), **stores, **model_server),
            log=LOG_DIR / f"rasa-{replica + 1}.log"))
    children.append(_balancer("rasa balancer", topology.rasa_front_port, topology.rasa_ports[:rasa_replicas]))
    for replica, port in enumerate(topology.gateway_ports):
        gateway_env = dict(
            os.environ, RASA_URL=topology.rasa_front_url, RASA_TOKEN=topology.token, GATEWAY_PORT=str(port),
            GATEWAY_HOST="127.0.0.1", DATABASE_URL=topology.gateway_database_url, RUN_MIGRATIONS_ON_START="false",
            CASE_EVENTS_REDIS_URL=f"{REDIS}/{topology.redis_db}",
            RATE_LIMIT_STORAGE_URL=f"{REDIS}/{topology.redis_db}", PUBLIC_BASE_URL=topology.front_url,
            MODEL_DELIVERY="pull", SERVED_MODEL_PATH=str(MODEL))
        gateway_env.update(topology.gateway_env)
        children.append(ChildSpec(f"gateway {replica + 1}", [str(GATEWAY_PYTHON), "-m", "api"], cwd=ROOT,
                                  env=gateway_env, log=LOG_DIR / f"gateway-{replica + 1}.log"))
    children.append(_balancer("front", topology.front_port, topology.gateway_ports))
    return children


def readiness_checks(topology: Topology, rasa_replicas: int = 2) -> dict[str, Callable[[], bool]]:
    checks: dict[str, Callable[[], bool]] = {"action server": lambda: _answers(f"http://127.0.0.1:{topology.action_port}/health")}
    for replica in range(rasa_replicas):
        url = topology.rasa_url(replica)
        checks[f"rasa {replica + 1}"] = functools.partial(rasa_model_ready, url, topology.token)
    for replica in range(len(topology.gateway_ports)):
        url = topology.gateway_url(replica)
        checks[f"gateway {replica + 1}"] = functools.partial(_answers, f"{url}/health")
    checks["front"] = lambda: _answers(f"{topology.front_url}/health")
    return checks


@contextlib.contextmanager
def scaled_topology(topology: Topology, rasa_replicas: int = 2, timeout: float = 300) -> Iterator[Supervisor]:
    """Every process started and answering (TimeoutError otherwise); all stopped on exit."""
    if not MODEL.exists():
        raise FileNotFoundError(f"no trained model at {MODEL}: run `make train`")
    if not topology.tracker_key:
        topology.tracker_key = new_tracker_key()
    prepare_databases(topology)
    with Supervisor(scaled_children(topology, rasa_replicas)) as supervisor:
        late = _wait_until(readiness_checks(topology, rasa_replicas), timeout)
        if late:
            raise TimeoutError(f"not answering after {timeout:.0f} s: {', '.join(late)} (logs in {LOG_DIR})")
        yield supervisor


def _tracker_key() -> str:
    """TRACKER_ENCRYPTION_KEY, or one kept in var/ so conversations stored by an earlier run still open."""
    if os.environ.get("TRACKER_ENCRYPTION_KEY"):
        return os.environ["TRACKER_ENCRYPTION_KEY"]
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.write_text(new_tracker_key())
        KEY_FILE.chmod(0o600)
    return KEY_FILE.read_text().strip()


def main() -> int:
    stop_on_sigterm()
    signal.signal(signal.SIGHUP, lambda _signum, _frame: sys.exit(128 + signal.SIGHUP))
    topology = Topology(database=os.environ.get("SCALED_DATABASE", "chatbot_scaled"),
                        front_port=int(os.environ.get("GATEWAY_PORT", "8000")), tracker_key=_tracker_key())
    print("Starting the action server, two Rasa replicas, two gateways and the balancers "
          "(loading the model takes a few seconds)...", flush=True)
    try:
        with scaled_topology(topology):
            url = topology.front_url
            print(
                "\nReady.\n"
                f"  Web chat:           {url}/chat\n"
                f"  Counselor console:  {url}/console\n"
                f"  Content console:    {url}/content\n"
                f"  Gateways:           {topology.gateway_url(0)}, {topology.gateway_url(1)} "
                f"(database {topology.database})\n"
                f"  Rasa:               {topology.rasa_front_url} → {topology.rasa_url(0)}, {topology.rasa_url(1)} "
                f"(tracker store {topology.tracker_store_url}, lock store {REDIS}/{topology.redis_db})\n"
                f"  Logs:               {LOG_DIR}\n"
                "A process that dies is restarted. Press Ctrl-C to stop.",
                flush=True,
            )
            signal.pause()
    except KeyboardInterrupt:
        pass
    except TimeoutError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
