"""Liveness and readiness of one gateway process.

/health/live: the process answers (nothing else is checked, so an outage of the database or Rasa
never gets a gateway restarted). /health/ready: 200 when the database answers, Rasa answers (unless
READY_REQUIRES_RASA=false) and every background worker is running; otherwise 503 naming the parts
that fail.
"""
from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from api.context import AppContext
from api.db.session import Database
from api.tasks import PeriodicTask


def database_is_up(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def background_tasks(context: AppContext) -> dict[str, bool]:
    """Every background loop of this process by name, and whether it is running: the two workers and
    each PeriodicTask of the services started with the app (Zalo tokens, web chat purge, broadcasts,
    case notifier...)."""
    tasks = {context.inbound_worker.name: context.inbound_worker.alive,
             context.delivery_worker.name: context.delivery_worker.alive}
    for service in context.background_services:
        for periodic in _periodic_tasks_of(service):
            tasks[periodic.name] = periodic.alive
    return tasks


def _periodic_tasks_of(service: Any, depth: int = 2) -> list[PeriodicTask]:
    """The PeriodicTasks a service holds as attributes, or its parts hold (services that group
    others, like the content services, one level down)."""
    if isinstance(service, PeriodicTask):
        return [service]
    if depth == 0 or not hasattr(service, "__dict__"):
        return []
    found: list[PeriodicTask] = []
    for value in vars(service).values():
        if isinstance(value, PeriodicTask) or (hasattr(value, "stop") and hasattr(value, "__dict__")):
            found += _periodic_tasks_of(value, depth - 1)
    return found


async def readiness(context: AppContext) -> tuple[bool, dict[str, Any]]:
    """(ready, body): body names each part's state and lists the failing ones."""
    if not hasattr(context, "inbound_worker"):
        return False, {"status": "starting", "failing": ["startup"]}
    if context.shutdown.requested:
        return False, {"status": "stopping", "failing": ["shutdown"]}
    database_up, rasa_up = await asyncio.gather(asyncio.to_thread(database_is_up, context.database),
                                                context.rasa.is_up())
    workers = background_tasks(context)
    failing = [] if database_up else ["database"]
    if not rasa_up and context.settings.ready_requires_rasa:
        failing.append("rasa")
    failing += [f"worker:{name}" for name, alive in workers.items() if not alive]
    body = {
        "status": "ready" if not failing else "not_ready",
        "failing": failing,
        "database": "up" if database_up else "down",
        "rasa": "up" if rasa_up else "down",
        "workers": {name: "alive" if alive else "dead" for name, alive in workers.items()},
    }
    return not failing, body
