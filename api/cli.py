"""Operator commands: `python -m api.cli <command>`.

  telegram-set-webhook [--url URL] [--drop-pending-updates]
      Registers {PUBLIC_BASE_URL}/webhooks/telegram with the secret token and the update types the
      gateway handles. Run once per deploy (never at every start: replicas would race).
  telegram-webhook-info
      Shows what Telegram has registered (pending updates, last error).
  migrate
      Applies database migrations up to every head.
  requeue-failed [--inbound | --outbox] [--id N]
      Puts failed inbound messages and undelivered outbox rows (all, one queue, or one row) back in
      the queue with a fresh attempt count; the running gateway takes them at its next poll. List
      them first: GET /api/v1/admin/failed (admins), or the gauge gateway_queue_depth{status="failed"}.
  purge [--dry-run]
      Applies the retention policy (RETENTION_*; docs/privacy.md); --dry-run prints per table what
      would be purged and changes nothing.
  erase --channel C --user-id ID --reason TEXT  |  export --channel C --user-id ID [--output FILE]
      Erases, or prints decrypted, everything held about one person (refused while a case is open).
  rotate-keys [--generate] [--batch-size N]
      Key rotation of encryption at rest (api/security/commands.py; docs/privacy-access.md).
  create-user EMAIL --role ROLE [--name NAME]
  reset-password EMAIL [--reset-two-factor]
      Staff accounts; the password comes from a prompt or stdin, never the command line
      (api/auth/commands.py).
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys

from api import models  # noqa: F401  (every table known: erasure follows their foreign keys)
from api.auth import commands as account_commands
from api.privacy import cli as privacy_cli
from api.security import commands as key_commands
from api.settings import Settings, get_settings

SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _bot(settings: Settings):  # type: ignore[no-untyped-def]
    from telegram import Bot

    base = settings.telegram_api_base_url.rstrip("/")
    return Bot(settings.telegram_bot_token.get_secret_value(), base_url=f"{base}/bot",
               base_file_url=f"{base}/file/bot")


async def telegram_set_webhook(settings: Settings, url: str | None, drop_pending: bool) -> str:
    from api.channels.telegram.adapter import ALLOWED_UPDATES

    if not settings.telegram_enabled:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not SECRET_PATTERN.match(secret):
        raise SystemExit("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
    target = url or f"{settings.public_base_url.rstrip('/')}/webhooks/telegram"
    if not target.startswith("https://") and settings.environment == "production":
        raise SystemExit("Telegram needs an https:// webhook URL")
    async with _bot(settings) as bot:
        await bot.set_webhook(url=target, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                              drop_pending_updates=drop_pending)
    return target


async def telegram_webhook_info(settings: Settings) -> str:
    async with _bot(settings) as bot:
        info = await bot.get_webhook_info()
    return (f"url={info.url or '-'} pending_update_count={info.pending_update_count} "
            f"last_error={info.last_error_message or '-'}")


def requeue_failed_command(settings: Settings, *, inbound: bool, outbox: bool, row_id: int | None) -> int:
    from api.db.session import Database
    from api.ops.failed import requeue_failed

    database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        moved = requeue_failed(database, inbound=inbound, outbox=outbox, row_id=row_id)
    finally:
        database.dispose()
    print(f"requeued: inbound={moved.inbound} outbox={moved.outbox}")
    if row_id is not None and moved.inbound + moved.outbox == 0:
        print(f"no failed row with id {row_id}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    set_webhook = commands.add_parser("telegram-set-webhook", help="register the Telegram webhook")
    set_webhook.add_argument("--url", help="default: PUBLIC_BASE_URL + /webhooks/telegram")
    set_webhook.add_argument("--drop-pending-updates", action="store_true")
    commands.add_parser("telegram-webhook-info", help="show the registered Telegram webhook")
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade heads)")
    requeue = commands.add_parser("requeue-failed", help="put failed and parked rows back in the queue")
    which = requeue.add_mutually_exclusive_group()
    which.add_argument("--inbound", action="store_true", help="only inbound messages")
    which.add_argument("--outbox", action="store_true", help="only outbox rows")
    requeue.add_argument("--id", type=int, dest="row_id", help="only this row (with --inbound or --outbox)")
    privacy_cli.add_commands(commands)
    key_commands.add_parsers(commands)
    account_commands.add_parsers(commands)
    args = parser.parse_args(argv)
    if args.command == "requeue-failed" and args.row_id is not None and not (args.inbound or args.outbox):
        parser.error("--id needs --inbound or --outbox (the two queues number their rows separately)")
    settings = get_settings()
    if args.command == "telegram-set-webhook":
        target = asyncio.run(telegram_set_webhook(settings, args.url, args.drop_pending_updates))
        print(f"Telegram webhook registered: {target}")
    elif args.command == "telegram-webhook-info":
        print(asyncio.run(telegram_webhook_info(settings)))
    elif args.command == "migrate":
        from api.db.migrate import upgrade_to_heads

        upgrade_to_heads(settings.database_url)
        print("database migrated to heads")
    elif args.command in privacy_cli.COMMANDS:
        return privacy_cli.run(args, settings)
    elif args.command == "requeue-failed":
        return requeue_failed_command(settings, inbound=not args.outbox, outbox=not args.inbound,
                                      row_id=args.row_id)
    elif args.command in key_commands.COMMANDS:
        from api.models import Base

        return key_commands.run(args, settings, Base.metadata)
    elif args.command in account_commands.COMMANDS:
        return account_commands.run(args, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
