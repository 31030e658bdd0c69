"""Prometheus metrics of one gateway app (prometheus-client), served at GET /metrics.

Each app has its own `CollectorRegistry` (the app context's `metrics`), never the library's global
default registry, so two apps in one process (the tests) count separately. Counters and histograms
are incremented where things happen (webhooks, workers, the Rasa client, the case notifier); queue
depths and waiting cases are read from the database at scrape time (api/ops/metrics.py registers
those collectors). Labels are low-cardinality: channel, reason, endpoint, kind; never user ids.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.registry import Collector

# Rasa answers in tens of milliseconds when warm and up to its timeout when it is struggling.
RASA_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)


class GatewayMetrics:
    """The gateway's metric families, registered on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages_in = Counter(
            "gateway_messages_in", "User messages stored by a webhook (duplicates not counted).",
            ["channel"], registry=self.registry)
        self.messages_out = Counter(
            "gateway_messages_out", "Outbox rows the platform accepted.", ["channel"], registry=self.registry)
        self.delivery_failures = Counter(
            "gateway_delivery_failures",
            "Failed delivery attempts: retry (transient, will retry), permanent (the platform refused), "
            "gave_up (attempts exhausted), sender_error (the sender raised), not_configured (no sender).",
            ["channel", "reason"], registry=self.registry)
        self.inbound_failures = Counter(
            "gateway_inbound_failures",
            "Inbound processing failures: rasa_unavailable (deferred), error (unexpected, retried), "
            "parked (given up, status failed).", ["reason"], registry=self.registry)
        self.rasa_latency = Histogram(
            "gateway_rasa_request_seconds", "Latency of requests to Rasa, by endpoint and outcome.",
            ["endpoint", "outcome"], buckets=RASA_LATENCY_BUCKETS, registry=self.registry)
        self.notifications_sent = Counter(
            "gateway_notifications_sent", "Staff alerts and notifications the Telegram group accepted, by kind.",
            ["kind"], registry=self.registry)
        self.notifications_failed = Counter(
            "gateway_notifications_failed", "Staff notifications that gave up after their last attempt.",
            ["kind"], registry=self.registry)

    def add_collector(self, collector: Collector) -> None:
        """A collector computed at scrape time (e.g. queue depths read from the database)."""
        self.registry.register(collector)
