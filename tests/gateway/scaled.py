"""The scaled topology (scripts/run_scaled.py) driven through its front port with Telegram updates, and
what its database says about each message sent: for the scaled test and scripts/bench_scaled.py.

Each update carries its own X-Request-ID; the gateway stores it on the inbound message and on every
outbound row that answers it, so a message's answers are found without reading any text."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, text

from tests.gateway.fakes.telegram import TELEGRAM_TOKEN
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update

FALLBACK_PREFIX = "fallback:"  # idempotency keys of the hotline fallback sent while Rasa is away


def gateway_env(telegram_url: str) -> dict[str, str]:
    """Both gateways: the fake Telegram, Zalo off, delivery limits out of the way (the fake has none)."""
    return {"ENVIRONMENT": "development", "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "TELEGRAM_API_BASE_URL": telegram_url,
            "ZALO_APP_ID": "", "ZALO_ACCESS_TOKEN": "", "LOG_LEVEL": "warning",
            "DELIVERY_GLOBAL_RATE_PER_SECOND": "10000", "TELEGRAM_OVERALL_MAX_RATE": "10000",
            "DELIVERY_PER_RECIPIENT_RATE_PER_SECOND": "100", "DELIVERY_PER_RECIPIENT_BURST": "100",
            "INBOUND_RETRY_BASE_SECONDS": "0.5", "INBOUND_RETRY_MAX_SECONDS": "4"}


@dataclass
class Sent:
    chat_id: int
    index: int  # its place in the chat's messages
    request_id: str
    acked_at: float


@dataclass
class Answer:
    """One sent message as the gateway's database sees it."""

    conversation_id: int
    status: str
    attempts: int
    replies: list[tuple[int, str, str | None]] = field(default_factory=list)  # (outbound id, status, sent_at)
    fallbacks: int = 0


async def post_update(http: httpx.AsyncClient, front: str, chat_id: int, message: str, request_id: str) -> None:
    """POST one update; a refused or failed request is sent again (Telegram does the same)."""
    update = text_update(chat_id, message)
    for _ in range(50):
        try:
            response = await http.post(f"{front}/webhooks/telegram", json=update, headers={
                "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "X-Request-ID": request_id})
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)  # Telegram's own redelivery, much shortened
    raise AssertionError(f"the gateways refused {request_id}")


async def burst(front: str, chats: dict[int, list[str]], on_ack: Callable[[Sent], None] | None = None) -> list[Sent]:
    """Every chat sends its messages one after the other (each once the previous is acknowledged), all
    chats at the same time."""
    run = uuid.uuid4().hex[:8]
    sent: list[Sent] = []

    async def chat(http: httpx.AsyncClient, chat_id: int, messages: list[str]) -> None:
        for index, message in enumerate(messages):
            request_id = f"scaled-{run}-{chat_id}-{index}"
            await post_update(http, front, chat_id, message, request_id)
            sent.append(Sent(chat_id, index, request_id, time.monotonic()))
            if on_ack is not None:
                on_ack(sent[-1])

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(chat(http, chat_id, messages) for chat_id, messages in chats.items()))
    return sent


def answers(engine: Engine, sent: list[Sent]) -> dict[str, Answer]:
    """Each sent message's inbound row and the outbound rows answering it, by request id."""
    ids = [s.request_id for s in sent]
    found: dict[str, Answer] = {}
    with engine.connect() as connection:
        for request_id, conversation_id, status, attempts in connection.execute(text(
                "SELECT request_id, conversation_id, status, attempts FROM inbound_messages "
                "WHERE request_id = ANY(:ids)"), {"ids": ids}):
            found[request_id] = Answer(conversation_id, status, attempts)
        for request_id, outbound_id, status, sent_at, key in connection.execute(text(
                "SELECT request_id, id, status, sent_at, idempotency_key FROM outbound_messages "
                "WHERE request_id = ANY(:ids) ORDER BY id"), {"ids": ids}):
            if request_id not in found:
                continue
            if key.startswith(FALLBACK_PREFIX):
                found[request_id].fallbacks += 1
            else:
                found[request_id].replies.append((outbound_id, status, sent_at and sent_at.isoformat()))
    return found


def _answered(answer: Answer) -> bool:
    """Processed, answered, and every answer has left the outbox."""
    return answer.status == "done" and bool(answer.replies) and all(
        status == "sent" for _, status, _ in answer.replies)


def settled(engine: Engine, sent: list[Sent]) -> bool:
    """Every sent message is stored, processed and answered, and every answer has left the outbox."""
    found = answers(engine, sent)
    return len(found) == len(sent) and all(_answered(a) for a in found.values())


def unsettled(engine: Engine, sent: list[Sent]) -> str:
    """What keeps `settled` false: each such message's state (no text), for a failure message."""
    found = answers(engine, sent)
    lines = [f"{len(sent) - len(found)} of {len(sent)} not stored"] if len(found) < len(sent) else []
    with engine.connect() as connection:
        for sent_message in sent:
            answer = found.get(sent_message.request_id)
            if answer is None or _answered(answer):
                continue
            error = connection.execute(text(
                "SELECT last_error, next_attempt_at, claimed_by FROM inbound_messages WHERE request_id = :r"),
                {"r": sent_message.request_id}).one()
            lines.append(f"{sent_message.request_id}: {answer.status}, attempts {answer.attempts}, "
                         f"replies {[status for _, status, _ in answer.replies]}, fallbacks {answer.fallbacks}, "
                         f"last error {error[0]!r}, next attempt {error[1]}, claimed by {error[2]}")
    return "; ".join(lines[:20]) or "nothing (settled since)"


def processed(engine: Engine, sent: list[Sent]) -> bool:
    """Every sent message is stored and processed, and whatever answers it has left the outbox."""
    found = answers(engine, sent)
    return len(found) == len(sent) and all(
        a.status == "done" and all(status == "sent" for _, status, _ in a.replies) for a in found.values())


def cases_of(engine: Engine, conversation_id: int) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM cases WHERE conversation_id = :c"),
                                      {"c": conversation_id}).scalar_one())
