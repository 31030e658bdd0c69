"""GET /metrics: Prometheus text, the METRICS_TOKEN rule, counters that follow real traffic, and the
queue and case gauges read from the database at scrape time."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.cases.models import Case
from api.db.base import utcnow
from api.db.session import Database
from api.main import create_app
from api.messaging.models import Conversation, InboundMessage, OutboundMessage
from api.metrics import GatewayMetrics
from api.ops.queues import DatabaseStateCollector
from api.settings import Settings
from tests.gateway.fakes.telegram import FakeTelegram
from tests.gateway.fakes.telegram_updates import post_update, text_update
from tests.gateway.staff import staff_settings
from tests.gateway.waiting import drained, eventually

pytestmark = pytest.mark.asyncio
CHAT = 424242


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return page.get((name, tuple(sorted(labels.items()))))


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The counselor group is set, so a disclosure sends a staff notification.
    return staff_settings(settings)


async def test_traffic_is_counted(client: httpx.AsyncClient, fake_telegram: FakeTelegram) -> None:
    await post_update(client, text_update(CHAT, "xin chào"))
    await post_update(client, text_update(CHAT, "cứu mình với"))
    await drained(client._transport.app)  # type: ignore[attr-defined]
    page = await eventually(lambda: _scrape_with_notification(client), what="the staff notification counted")
    assert value(page, "gateway_messages_in_total", channel="telegram") == 2
    # One count per outbox row the platform accepted (the staff alert goes out through the notifier).
    assert value(page, "gateway_messages_out_total", channel="telegram") == len(fake_telegram.sent(CHAT)) >= 2
    assert value(page, "gateway_rasa_request_seconds_count", endpoint="webhook", outcome="ok") == 2
    assert value(page, "gateway_queue_depth", queue="inbound", status="pending") == 0
    assert value(page, "gateway_queue_depth", queue="outbox", status="failed") == 0
    assert value(page, "gateway_scrape_database_up") == 1
    assert value(page, "gateway_cases_waiting", level="imminent") == 1


async def _scrape_with_notification(client: httpx.AsyncClient) -> dict | None:  # type: ignore[type-arg]
    page = await scrape(client)
    return page if value(page, "gateway_notifications_sent_total", kind="new_case") == 1 else None


async def test_delivery_failures_are_counted_by_reason(client: httpx.AsyncClient,
                                                       fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next(500, times=1)
    fake_telegram.fail_next(400, times=1)
    await post_update(client, text_update(CHAT, "xin chào"))
    await drained(client._transport.app)  # type: ignore[attr-defined]
    page = await scrape(client)
    assert value(page, "gateway_delivery_failures_total", channel="telegram", reason="retry") == 1
    assert value(page, "gateway_delivery_failures_total", channel="telegram", reason="permanent") == 1
    assert value(page, "gateway_queue_depth", queue="outbox", status="failed") == 1


async def test_token_is_required_when_set(client: httpx.AsyncClient) -> None:
    context = client._transport.app.state.context  # type: ignore[attr-defined]
    context.settings = context.settings.model_copy(update={"metrics_token": SecretStr("s3cret")})
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/metrics", headers={"Authorization": "Basic s3cret"})).status_code == 401
    response = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200 and "gateway_messages_in" in response.text


async def test_production_without_token_refuses(client: httpx.AsyncClient) -> None:
    context = client._transport.app.state.context  # type: ignore[attr-defined]
    context.settings = context.settings.model_copy(update={"environment": "production"})
    response = await client.get("/metrics")
    assert response.status_code == 403 and "METRICS_TOKEN" in response.text


async def test_each_app_has_its_own_registry(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    first.state.context.metrics.messages_in.labels("web").inc()
    assert first.state.context.metrics.registry is not second.state.context.metrics.registry
    assert second.state.context.metrics.registry.get_sample_value(
        "gateway_messages_in_total", {"channel": "web"}) is None
    assert first.state.context.metrics.registry.get_sample_value(
        "gateway_messages_in_total", {"channel": "web"}) == 1


def _conversation(session, channel: str = "telegram") -> Conversation:  # type: ignore[no-untyped-def]
    conversation = Conversation(channel=channel, sender_id=f"{channel}:{utcnow().timestamp()}",
                                platform_user_id_encrypted="x", state="bot")
    session.add(conversation)
    session.flush()
    return conversation


async def test_queue_and_case_gauges_come_from_the_database(database: Database) -> None:
    now = utcnow()
    with database.transaction() as session:
        conversation = _conversation(session)
        for key, status, age in (("a", "pending", 90), ("b", "pending", 30), ("c", "failed", 900),
                                 ("d", "done", 5000)):
            session.add(InboundMessage(channel="telegram", platform_message_key=key, conversation_id=conversation.id,
                                       kind="text", status=status, received_at=now - timedelta(seconds=age)))
        session.add(OutboundMessage(conversation_id=conversation.id, channel="telegram", payload_encrypted="x",
                                    source="bot", status="sending", idempotency_key="k1",
                                    created_at=now - timedelta(seconds=40)))
        for level, waited in (("high", 300), ("high", 60), ("imminent", 20)):
            session.add(Case(conversation_id=conversation.id, sender_id=conversation.sender_id, channel="telegram",
                             status="waiting", level=level, waiting_since=now - timedelta(seconds=waited)))
    metrics = GatewayMetrics()
    metrics.add_collector(DatabaseStateCollector(lambda: database))
    registry = metrics.registry
    assert registry.get_sample_value("gateway_queue_depth", {"queue": "inbound", "status": "pending"}) == 2
    assert registry.get_sample_value("gateway_queue_depth", {"queue": "inbound", "status": "failed"}) == 1
    assert registry.get_sample_value("gateway_queue_depth", {"queue": "outbox", "status": "sending"}) == 1
    inbound_age = registry.get_sample_value("gateway_queue_oldest_age_seconds", {"queue": "inbound"})
    assert inbound_age is not None and 90 <= inbound_age < 150  # the failed row is not "waiting"
    outbox_age = registry.get_sample_value("gateway_queue_oldest_age_seconds", {"queue": "outbox"})
    assert outbox_age is not None and 40 <= outbox_age < 100
    assert registry.get_sample_value("gateway_cases_waiting", {"level": "high"}) == 2
    assert registry.get_sample_value("gateway_cases_waiting", {"level": "imminent"}) == 1
    longest = registry.get_sample_value("gateway_cases_longest_wait_seconds")
    assert longest is not None and 300 <= longest < 360


async def test_gauges_report_a_database_outage() -> None:
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        metrics = GatewayMetrics()
        metrics.add_collector(DatabaseStateCollector(lambda: broken))
        assert metrics.registry.get_sample_value("gateway_scrape_database_up") == 0
        pending = {"queue": "inbound", "status": "pending"}
        assert metrics.registry.get_sample_value("gateway_queue_depth", pending) is None
    finally:
        broken.dispose()
