"""The service signals' collectors: the outbox backlog queried at most once per interval, a failing
store not failing the scrape, a metered consumer's lag, and one /metrics serving both registries."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from devstack.processes import free_port
from svc_kit.bus.port import Consumer, Message
from svc_kit.events.metered import MeteredConsumer
from svc_kit.metrics import GrpcServerMetrics, ServiceMetrics, seconds_since


class Store:
    def __init__(self, count: int, oldest: datetime | None):
        self.answer = (count, oldest)
        self.queries = 0
        self.broken = False

    def backlog(self):
        self.queries += 1
        if self.broken:
            raise ConnectionError("database away")
        return self.answer


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def sample(metrics: ServiceMetrics, name: str, **labels):
    return metrics.registry.get_sample_value(name, {"service": "notify", **labels})


def test_the_backlog_is_queried_at_most_once_per_interval_and_summed_over_stores():
    metrics = ServiceMetrics(service="notify")
    clock = Clock()
    metrics.outbox_backlog.clock = clock
    metrics.outbox_backlog.min_interval = 5.0
    old = datetime.now(UTC) - timedelta(seconds=60)
    a, b = Store(3, old), Store(2, datetime.now(UTC) - timedelta(seconds=5))
    metrics.outbox_backlog.add(a)
    metrics.outbox_backlog.add(b)
    assert sample(metrics, "mkt_outbox_pending_events") == 5
    assert 59 <= sample(metrics, "mkt_outbox_oldest_pending_age_seconds") < 120
    a.answer = (0, None)
    assert sample(metrics, "mkt_outbox_pending_events") == 5  # cached: no query within the interval
    assert a.queries == 1
    clock.now += 5.0
    assert sample(metrics, "mkt_outbox_pending_events") == 2
    assert a.queries == 2
    assert sample(metrics, "mkt_outbox_oldest_pending_age_seconds") < 60


def test_a_store_no_longer_referenced_is_forgotten():
    metrics = ServiceMetrics(service="notify", backlog_interval=0)
    metrics.outbox_backlog.add(Store(1, None))
    assert sample(metrics, "mkt_outbox_pending_events") is None


def test_a_failing_store_keeps_its_last_answer_and_the_scrape_works():
    metrics = ServiceMetrics(service="notify", backlog_interval=0)
    store = Store(4, datetime.now(UTC))
    metrics.outbox_backlog.add(store)
    assert sample(metrics, "mkt_outbox_pending_events") == 4
    store.broken = True
    assert sample(metrics, "mkt_outbox_pending_events") == 4
    metrics.outbox_backlog.remove(store)
    assert sample(metrics, "mkt_outbox_pending_events") is None


def test_no_backlog_is_zero_age():
    metrics = ServiceMetrics(service="notify", backlog_interval=0)
    store = Store(0, None)  # held: the collector keeps only weak references (a closed relay's store goes)
    metrics.outbox_backlog.add(store)
    assert sample(metrics, "mkt_outbox_pending_events") == 0
    assert sample(metrics, "mkt_outbox_oldest_pending_age_seconds") == 0


class Inner(Consumer):
    def __init__(self, messages):
        self.messages = list(messages)
        self.acked, self.nacked = [], []

    def receive(self, timeout):
        return self.messages.pop(0) if self.messages else None

    def ack(self, message):
        self.acked.append(message)

    def nack(self, message):
        self.nacked.append(message)

    def close(self):
        pass


def message(age: float) -> Message:
    return Message("t", "1", "k", {}, {}, 0, datetime.now(UTC) - timedelta(seconds=age))


def test_a_metered_consumer_counts_and_reports_lag_until_idle():
    metrics = ServiceMetrics(service="notify")
    consumer = MeteredConsumer(Inner([message(30), message(10), message(1)]), "sub", metrics)
    labels = {"subscription": "sub"}
    consumer.ack(consumer.receive(0))
    consumer.ack(consumer.receive(0), "duplicate")
    consumer.nack(consumer.receive(0))
    assert sample(metrics, "mkt_consumer_messages_total", outcome="processed", **labels) == 1
    assert sample(metrics, "mkt_consumer_messages_total", outcome="duplicate", **labels) == 1
    assert sample(metrics, "mkt_consumer_messages_total", outcome="failed", **labels) == 1
    assert sample(metrics, "mkt_consumer_event_delay_seconds_count", **labels) == 1
    assert 30 <= sample(metrics, "mkt_consumer_lag_seconds", **labels) < 90
    assert len(consumer.inner.acked) == 2 and len(consumer.inner.nacked) == 1
    assert consumer.receive(0) is None
    assert sample(metrics, "mkt_consumer_lag_seconds", **labels) == 0


def test_seconds_since_is_never_negative():
    assert seconds_since(datetime.now(UTC) + timedelta(seconds=5)) == 0
    assert seconds_since(datetime.now(UTC) - timedelta(seconds=5)) >= 5


def test_one_metrics_port_serves_the_server_and_the_process_registries():
    process = CollectorRegistry()
    signals = ServiceMetrics(process, service="notify")
    signals.analytics_batches.labels("notify", "ok").inc()
    grpc_metrics = GrpcServerMetrics()
    grpc_metrics.handled.labels("unary", "s", "m", "OK").inc()
    port = free_port()
    server, thread = grpc_metrics.serve("127.0.0.1", port, extra=process)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'grpc_server_handled_total{grpc_code="OK",grpc_method="m",grpc_service="s",grpc_type="unary"} 1.0' in text
    assert 'mkt_analytics_batches_total{outcome="ok",service="notify"} 1.0' in text
