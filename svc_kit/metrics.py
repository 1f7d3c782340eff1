"""Prometheus metrics: the conventional gRPC server names (as go-grpc-prometheus and
py-grpc-prometheus publish them), one registry per server; and the platform's own service signals
(mkt_*, ServiceMetrics), one set per process in PROCESS_REGISTRY, served by the server too."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client import gc_collector, platform_collector, process_collector

log = logging.getLogger("svc_kit.metrics")

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GrpcServerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            (*labels, "grpc_code"),
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency of RPCs handled by the server.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def serve(self, host: str, port: int, extra: CollectorRegistry | None = None):
        """Serves /metrics on a background thread; returns (server, thread). `extra` (the process's
        service signals, PROCESS_REGISTRY) is served with this server's own metrics."""
        if extra is not None:
            self.registry.register(extra)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        return start_http_server(port, addr=host, registry=self.registry)


# -- the platform's own signals (docs/observability.md "Metrics") ------------------------------------------
# One set per process, in PROCESS_REGISTRY, which every ServiceServer's registry serves next to its
# grpc_* metrics. Every family carries `service` (the short service name), set once per process by
# configure_service (svc_kit.app before the service is mounted; ServiceServer.start otherwise).

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)

CONSUMER_OUTCOMES = ("processed", "duplicate", "failed")
DELIVERY_OUTCOMES = ("sent", "deferred", "failed", "bounced", "suppressed", "cancelled")
START_OUTCOMES = ("ok", "failed")
BATCH_OUTCOMES = ("ok", "failed")


class OutboxBacklog:
    """A collector of mkt_outbox_pending_events and mkt_outbox_oldest_pending_age_seconds: on a scrape
    it asks each registered outbox store for its backlog (one COUNT/MIN query), at most once per
    `min_interval` seconds per store (a faster scrape gets the last answer). Nothing is exposed
    while no store is registered (a process without an outbox)."""

    def __init__(self, metrics: ServiceMetrics, min_interval: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.metrics = metrics
        self.min_interval = min_interval
        self.clock = clock
        self._stores: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()  # a relay's store
        self._cache: dict[int, tuple[float, tuple[int, datetime | None]]] = {}
        self._lock = threading.Lock()

    def add(self, store) -> None:
        with self._lock:
            self._stores[id(store)] = store

    def remove(self, store) -> None:
        with self._lock:
            self._stores.pop(id(store), None)
            self._cache.pop(id(store), None)

    def _backlog(self, key: int, store) -> tuple[int, datetime | None] | None:
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.min_interval:
            return cached[1]
        try:
            value = store.backlog()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is away
            log.warning("outbox backlog query failed", exc_info=True)
            return cached[1] if cached is not None else None
        self._cache[key] = (now, value)
        return value

    def collect(self):
        with self._lock:
            stores = list(self._stores.items())
        if not stores:
            return []
        pending, oldest = 0, None
        for key, store in stores:
            value = self._backlog(key, store)
            if value is None:
                continue
            count, first = value
            pending += count
            if count and first is not None and (oldest is None or first < oldest):
                oldest = first
        age = max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest is not None else 0.0
        service = self.metrics.service
        pending_family = GaugeMetricFamily("mkt_outbox_pending_events",
                                           "Outbox entries written and not yet published.", labels=["service"])
        pending_family.add_metric([service], pending)
        age_family = GaugeMetricFamily("mkt_outbox_oldest_pending_age_seconds",
                                       "Age of the oldest unpublished outbox entry (0 when none).",
                                       labels=["service"])
        age_family.add_metric([service], age)
        return [pending_family, age_family]


class ServiceMetrics:
    """The service signals of docs/observability.md. `service` labels every sample."""

    def __init__(self, registry: CollectorRegistry | None = None, service: str = "",
                 backlog_interval: float = 2.0):
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.service = service
        self.outbox_published = Counter("mkt_outbox_published_total", "Outbox entries published to the bus.",
                                        ("service", "topic"), registry=r)
        self.consumer_messages = Counter(
            "mkt_consumer_messages_total",
            "Bus messages a consumer settled: processed, duplicate (already in its inbox) or failed (nacked).",
            ("service", "subscription", "outcome"), registry=r)
        self.consumer_lag = Gauge(
            "mkt_consumer_lag_seconds",
            "Publish time of the last message a subscription processed to now; 0 when caught up and idle.",
            ("service", "subscription"), registry=r)
        self.consumer_delay = Histogram("mkt_consumer_event_delay_seconds",
                                        "From a message's publish time to its processing.",
                                        ("service", "subscription"), buckets=DELAY_BUCKETS, registry=r)
        self.notify_deliveries = Counter(
            "mkt_notify_deliveries_total",
            "Messages the notify dispatcher settled, by channel, provider and outcome.",
            ("service", "channel", "provider", "outcome"), registry=r)
        self.notify_handoff = Histogram(
            "mkt_notify_handoff_seconds",
            "From a message's acceptance (or its requested send time) to its hand-over to the provider.",
            ("service", "channel"), buckets=DELAY_BUCKETS, registry=r)
        self.campaign_lateness = Histogram(
            "mkt_campaign_start_lateness_seconds",
            "How late the scheduler started a campaign run against its planned time.",
            ("service", "trigger"), buckets=LATENESS_BUCKETS, registry=r)
        self.campaign_starts = Counter("mkt_campaign_starts_total", "Campaign runs the scheduler started.",
                                       ("service", "trigger", "outcome"), registry=r)
        self.analytics_ingest_lag = Histogram(
            "mkt_analytics_ingest_lag_seconds", "From an event's publish time to its storing in analytics.",
            ("service",), buckets=DELAY_BUCKETS, registry=r)
        self.analytics_batches = Counter("mkt_analytics_batches_total",
                                         "Batches of events the analytics consumers stored, or failed to.",
                                         ("service", "outcome"), registry=r)
        # Outbound webhooks (integrations).
        self.webhook_attempts = Counter("mkt_webhook_attempts_total",
                                        "Webhook delivery attempts, by outcome: succeeded, retrying, failed "
                                        "(retries used up: dead-lettered), refused (the URL's address is not "
                                        "allowed).", ("service", "outcome"), registry=r)
        self.webhook_attempt_seconds = Histogram("mkt_webhook_attempt_seconds",
                                                 "Duration of each webhook delivery attempt.", ("service",),
                                                 buckets=DELAY_BUCKETS, registry=r)
        self.webhooks_disabled = Counter("mkt_webhooks_disabled_total",
                                         "Webhooks the platform disabled (FAILING) after a delivery used up its "
                                         "retries.", ("service",), registry=r)
        # Journeys (svc_campaign: service_layer/journeys.py through the JourneySignals port).
        self.journey_entries = Counter("mkt_journey_entries_total",
                                       "Entries into journeys: entered, or refused by the re-entry rule.",
                                       ("service", "outcome"), registry=r)
        self.journey_exits = Counter("mkt_journey_exits_total",
                                     "Entries that ended: goal (the goal event) or exited (an exit step).",
                                     ("service", "how"), registry=r)
        self.journey_sends = Counter("mkt_journey_sends_total",
                                     "Journey send steps handed to notify: ok, refused, or unavailable (retried).",
                                     ("service", "outcome"), registry=r)
        self.journey_timer_lateness = Histogram(
            "mkt_journey_timer_lateness_seconds", "From a journey timer's due time to the pass that fired it.",
            ("service",), buckets=DELAY_BUCKETS, registry=r)
        self.outbox_backlog = OutboxBacklog(self, backlog_interval)
        r.register(self.outbox_backlog)


PROCESS_REGISTRY = CollectorRegistry()
_process: ServiceMetrics | None = None
_process_lock = threading.Lock()


def service_metrics() -> ServiceMetrics:
    """The process's ServiceMetrics (in PROCESS_REGISTRY)."""
    global _process
    with _process_lock:
        if _process is None:
            _process = ServiceMetrics(PROCESS_REGISTRY)
        return _process


def configure_service(name: str, force: bool = True) -> None:
    """Sets the `service` label of this process's signals (once per process)."""
    metrics = service_metrics()
    if force or not metrics.service:
        metrics.service = name


def seconds_since(moment: datetime, now: datetime | None = None) -> float:
    """Seconds from `moment` (aware) to now, never negative (clocks of two hosts may disagree)."""
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())
