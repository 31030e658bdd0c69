"""`python -m api.cli rotate-keys`: the key rotation of encryption at rest (wired in api/cli.py).

  rotate-keys --generate   a new Fernet key, and the DATA_ENCRYPTION_KEY value to set (new key
                           first, the current ones after it); the database is not touched.
  rotate-keys              every stored value re-encrypted with the first key of DATA_ENCRYPTION_KEY,
                           then checked; prints the value to set once the older keys can go.

The procedure (docs/privacy-access.md): generate, set the printed value on every gateway and
restart them (new data is then written with the new key, old data still opens), run rotate-keys,
then set DATA_ENCRYPTION_KEY to the new key alone and restart again.
"""
from __future__ import annotations

import argparse

from cryptography.fernet import Fernet
from sqlalchemy import MetaData

from api.db.session import Database
from api.security.crypto import configured_keys
from api.security.rotation import DEFAULT_BATCH_SIZE, rotate_all, unreadable_with_newest
from api.settings import Settings

COMMANDS = ("rotate-keys",)


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rotate = commands.add_parser("rotate-keys", help="re-encrypt stored data with the newest key")
    rotate.add_argument("--generate", action="store_true",
                        help="only print a new key and the DATA_ENCRYPTION_KEY value to set first")
    rotate.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")


def generate(settings: Settings) -> str:
    keys = [Fernet.generate_key().decode("ascii"), *configured_keys(settings)]
    return ("A new key was generated. 1) Set on every gateway (secret store or environment, never in git):\n"
            f"DATA_ENCRYPTION_KEY={','.join(keys)}\n"
            "2) Restart them. 3) Run: python -m api.cli rotate-keys")


def rotate(settings: Settings, metadata: MetaData, batch_size: int) -> tuple[int, str]:
    keys = configured_keys(settings)
    database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        report = rotate_all(database, metadata, keys, batch_size)
        left = unreadable_with_newest(database, metadata, keys[0], batch_size)
    finally:
        database.dispose()
    lines = [f"re-encrypted {report.total} values with the first key of DATA_ENCRYPTION_KEY"]
    lines += [f"  {where}: {count}" for where, count in sorted(report.rotated.items())]
    if left:
        lines.append("values the first key cannot open yet (written meanwhile, or under a key no longer "
                     "configured): run rotate-keys again; keep the older keys until none are left:")
        lines += [f"  {where}: {count}" for where, count in sorted(left.items())]
        return 1, "\n".join(lines)
    if len(keys) > 1:
        lines.append("Every value opens with the first key alone. The older keys can be removed: set\n"
                     f"DATA_ENCRYPTION_KEY={keys[0]}\nand restart the gateways.")
    else:
        lines.append("Only one key is configured: nothing older to remove (rotate-keys --generate starts a rotation).")
    return 0, "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings, metadata: MetaData) -> int:
    if args.generate:
        print(generate(settings))
        return 0
    code, text = rotate(settings, metadata, max(1, args.batch_size))
    print(text)
    return code
