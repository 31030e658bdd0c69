"""The privacy commands of `python -m api.cli`: purge, erase, export (audited as the command line)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from api.auth.audit import audit
from api.db.session import Database
from api.privacy import service
from api.privacy.erasure import blockers, find_conversation
from api.privacy.export import export_conversation
from api.privacy.policy import RetentionPolicy
from api.privacy.purge import Purge
from api.privacy.trackers import TrackerStore
from api.security.crypto import Crypto
from api.settings import Settings

T = TypeVar("T")
CHANNELS = ("telegram", "zalo", "web")
COMMANDS = ("purge", "erase", "export")


def add_commands(commands: Any) -> None:
    purge = commands.add_parser("purge", help="apply the retention policy (PURGE_*, RETENTION_*)")
    purge.add_argument("--dry-run", action="store_true", help="print per table what would go; change nothing")
    for name, text in (("erase", "erase one person's data"), ("export", "print everything held about one person")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--channel", required=True, choices=CHANNELS)
        command.add_argument("--user-id", required=True, help="the platform user id (Telegram chat id, ...)")
        if name == "erase":
            command.add_argument("--reason", required=True, help="why (kept with the request)")
        else:
            command.add_argument("--output", help="write the JSON here (mode 600) instead of standard output")


def run(args: argparse.Namespace, settings: Settings) -> int:
    database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    trackers = TrackerStore(settings.purge_tracker_store_url.get_secret_value(),
                            settings.purge_tracker_redis_key_prefix)
    try:
        if args.command == "purge":
            return _purge(database, trackers, settings, args.dry_run)
        crypto = Crypto(settings)
        if args.command == "erase":
            return _erase(database, trackers, crypto, args.channel, args.user_id, args.reason)
        return _export(database, crypto, args.channel, args.user_id, args.output)
    finally:
        trackers.dispose()
        database.dispose()


def _purge(database: Database, trackers: TrackerStore, settings: Settings, dry_run: bool) -> int:
    async def transact(fn: Callable[[Session], T]) -> T:
        with database.transaction() as session:
            return fn(session)

    purge = Purge(RetentionPolicy.from_settings(settings), trackers, transact, settings.purge_batch_size,
                  database=database)
    report = asyncio.run(purge.run(dry_run=dry_run))
    print("dry run: nothing was changed" if dry_run else "purged")
    print("\n".join(report.lines()))
    return 0


def _erase(database: Database, trackers: TrackerStore, crypto: Crypto, channel: str, user_id: str,
           reason: str) -> int:
    with database.transaction() as session:
        conversation = find_conversation(session, crypto, channel, user_id)
        if conversation is None:
            audit(session, None, "privacy.erase", "", {"channel": channel, "found": False, "via": "cli"})
            print("nothing held for this person")
            return 0
        found = blockers(session, conversation.id)
        if found:
            waiting = service.request_for_supervisor(session, conversation, found, via="cli", reason=reason)
            print(f"refused: an open or held case {found.as_dict()}; request #{waiting.id} awaits a supervisor",
                  file=sys.stderr)
            return 2
        sender = conversation.sender_id
    events = trackers.delete([sender])
    with database.transaction() as session:
        conversation = find_conversation(session, crypto, channel, user_id)
        if conversation is None:
            return 0
        request, counts = service.erase_now(session, conversation, via="cli", reason=reason, user=None,
                                            tracker_events=events)
    print(f"erased (request #{request.id}):")
    for name, count in sorted(counts.items()):
        print(f"  {name:<32} {count}")
    return 0


def _export(database: Database, crypto: Crypto, channel: str, user_id: str, output: str | None) -> int:
    with database.transaction() as session:
        conversation = find_conversation(session, crypto, channel, user_id)
        data = export_conversation(session, crypto, conversation, channel)
        audit(session, None, "privacy.export", f"conversation:{conversation.id}" if conversation else "",
              {"channel": channel, "found": conversation is not None, "via": "cli"})
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        print(text)
        return 0
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    print(f"written to {output}")
    return 0
