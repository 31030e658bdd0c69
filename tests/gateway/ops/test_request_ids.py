"""One request id follows a message: webhook → inbound row → worker → Rasa (header) → outbox row →
delivery, in the JSON logs too; no message text or user id is logged at INFO."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.logs import configure_logging, remove_logging_handler
from api.messaging.models import InboundMessage, OutboundMessage
from tests.gateway.fakes.rasa import FakeRasa
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import TELEGRAM_SECRET, text_update
from tests.gateway.waiting import drained

pytestmark = pytest.mark.asyncio
CHAT = 515151
SECRET_WORDS = "bí mật riêng tư"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The process's logging configured as in production (JSON lines), into a buffer."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    configure_logging("json", logging.INFO, stream=stream)
    try:
        yield stream
    finally:
        remove_logging_handler()
        root.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def post(client: httpx.AsyncClient, update: dict[str, Any], request_id: str | None) -> httpx.Response:
    headers = {"content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    response = await client.post("/webhooks/telegram", content=json.dumps(update).encode(), headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_request_id_follows_the_message(client: httpx.AsyncClient, fake_rasa: FakeRasa,
                                              fake_telegram: FakeTelegram, json_logs: io.StringIO) -> None:
    response = await post(client, text_update(CHAT, f"xin chào {SECRET_WORDS}"), "tg-req.0001")
    assert response.headers["X-Request-ID"] == "tg-req.0001"
    app = client._transport.app  # type: ignore[attr-defined]
    await drained(app)
    assert fake_rasa.request_ids == ["tg-req.0001"]
    with app.state.context.database.session() as session:
        assert session.scalars(select(InboundMessage.request_id)).all() == ["tg-req.0001"]
        outbound_ids = session.scalars(select(OutboundMessage.request_id)).all()
    assert outbound_ids and set(outbound_ids) == {"tg-req.0001"}

    logged = records(json_logs)
    tagged = {(r["logger"], r["event"]) for r in logged if r.get("request_id") == "tg-req.0001"}
    assert ("api.channels.base", "inbound stored") in tagged            # the webhook
    assert ("api.messaging.pipeline", "inbound processing") in tagged   # the worker
    assert ("api.messaging.delivery", "outbound sent") in tagged        # the delivery
    text = json_logs.getvalue()
    assert SECRET_WORDS not in text and str(CHAT) not in text
    assert all(r["level"] in ("debug", "info", "warning", "error", "critical") for r in logged)
    assert all("timestamp" in r for r in logged)


async def test_a_malformed_request_id_is_replaced(client: httpx.AsyncClient, fake_rasa: FakeRasa) -> None:
    response = await post(client, text_update(CHAT, "xin chào"), "has spaces and is not an id")
    made_up = response.headers["X-Request-ID"]
    assert made_up != "has spaces and is not an id" and len(made_up) == 32
    await drained(client._transport.app)  # type: ignore[attr-defined]
    assert fake_rasa.request_ids == [made_up]


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health/live")).headers["X-Request-ID"]
    second = (await client.get("/health/live")).headers["X-Request-ID"]
    assert first and second and first != second


async def test_console_log_format(json_logs: io.StringIO) -> None:
    stream = io.StringIO()
    configure_logging("console", logging.INFO, stream=stream)
    logging.getLogger("api.test").info("hello", extra={"outbound_id": 7})
    line = stream.getvalue()
    assert "hello" in line and "outbound_id=7" in line and not line.lstrip().startswith("{")
    with pytest.raises(ValueError):
        configure_logging("xml")


def _fail_with_secret_locals() -> None:
    child_text = SECRET_WORDS  # a frame local, as in the pipeline
    raise ValueError("boom" if child_text else "")


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_tracebacks_carry_no_local_variables(json_logs: io.StringIO, log_format: str) -> None:
    stream = io.StringIO()
    configure_logging(log_format, logging.INFO, stream=stream)
    try:
        _fail_with_secret_locals()
    except ValueError:
        logging.getLogger("api.test").exception("step failed")
    output = stream.getvalue()
    assert "step failed" in output and "ValueError" in output and "_fail_with_secret_locals" in output
    assert SECRET_WORDS not in output
