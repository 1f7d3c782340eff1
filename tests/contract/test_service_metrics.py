"""The service signals on real stores and the embedded bus (docs/observability.md "Metrics"): the
outbox backlog collector (SQL and MongoDB wire), the relay's publish counter, an inbox consumer's
outcomes, lag and delay, and the scheduler's starts and lateness as the adapters report them."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from pymongo import MongoClient
from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.events.inbox import InboxConsumer
from svc_kit.events.mongo_outbox import MongoOutbox, MongoOutboxStore
from svc_kit.events.outbox import Outbox, OutboxRelay, Relay
from svc_kit.clock import utcnow
from svc_kit.metrics import ServiceMetrics

from svc_audience.adapters import events
from svc_audience.domain.model import Profile

from svc_campaign.adapters.metrics import SchedulerMetrics
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.service_layer import scheduler
from tests.contract.test_campaign_scheduler import START, At, scheduled
from tests.contract.test_outbox_inbox import EFFECTS, INBOX, make_campaigns, record_effect
from tests.unit.campaign.test_handlers import Ids

SCHEMA = event_schemas.load("campaign.v1")
DEADLINE = 30.0


def fresh_metrics(service: str = "campaign") -> ServiceMetrics:
    return ServiceMetrics(service=service, backlog_interval=0)  # no caching: every read queries


def value(metrics: ServiceMetrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def bus(tmp_path):
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    yield bus
    bus.close()


def test_the_sql_outbox_backlog_and_the_publish_counter(engine: Engine, bus):
    topic = f"metrics-{uuid.uuid4().hex[:12]}"
    outbox = Outbox(campaign_outbox, {topic: SCHEMA})
    metrics = fresh_metrics()
    relay = OutboxRelay(engine, outbox, bus, metrics=metrics)
    assert value(metrics, "mkt_outbox_pending_events", service="campaign") == 0
    assert value(metrics, "mkt_outbox_oldest_pending_age_seconds", service="campaign") == 0
    make_campaigns(engine, outbox, 4)
    time.sleep(0.05)
    assert value(metrics, "mkt_outbox_pending_events", service="campaign") == 4
    assert value(metrics, "mkt_outbox_oldest_pending_age_seconds", service="campaign") > 0
    while relay.run_once():
        pass
    assert value(metrics, "mkt_outbox_pending_events", service="campaign") == 0
    assert value(metrics, "mkt_outbox_oldest_pending_age_seconds", service="campaign") == 0
    assert value(metrics, "mkt_outbox_published_total", service="campaign", topic=topic) == 4
    relay.close()
    assert value(metrics, "mkt_outbox_pending_events", service="campaign") is None  # no outbox, no series


def test_the_mongo_outbox_backlog(nx_server, mongo_database_name, bus):
    client = MongoClient(nx_server.url)
    try:
        outbox = MongoOutbox(client[mongo_database_name][f"outbox_{uuid.uuid4().hex[:8]}"],
                             {events.TOPIC: events.SCHEMA})
        outbox.ensure_indexes()
        metrics = fresh_metrics("audience")
        relay = Relay(MongoOutboxStore(outbox), outbox.schemas, bus, metrics=metrics)
        assert value(metrics, "mkt_outbox_pending_events", service="audience") == 0
        outbox.write([events.erasure_entry(Profile("acme", f"p{i}"), utcnow()) for i in range(3)])
        time.sleep(0.05)
        assert value(metrics, "mkt_outbox_pending_events", service="audience") == 3
        assert value(metrics, "mkt_outbox_oldest_pending_age_seconds", service="audience") > 0
        assert relay.run_once() == 3
        assert value(metrics, "mkt_outbox_pending_events", service="audience") == 0
        assert value(metrics, "mkt_outbox_oldest_pending_age_seconds", service="audience") == 0
        assert value(metrics, "mkt_outbox_published_total", service="audience", topic=events.TOPIC) == 3
        relay.close()
    finally:
        client.close()


def test_an_inbox_consumer_counts_outcomes_and_reports_lag_and_delay(engine: Engine, bus):
    EFFECTS.metadata.create_all(engine)
    topic = f"metrics-{uuid.uuid4().hex[:12]}"
    outbox = Outbox(campaign_outbox, {topic: SCHEMA})
    make_campaigns(engine, outbox, 3)
    relay = OutboxRelay(engine, outbox, bus, metrics=fresh_metrics())
    while relay.run_once():
        pass
    metrics = fresh_metrics()
    failures = iter([True])

    def flaky(connection, event, message):
        if next(failures, False):
            raise RuntimeError("the first attempt fails")
        record_effect(connection, event, message)

    consumer = InboxConsumer(bus, engine, INBOX, topic, "metrics", SCHEMA, flaky, metrics=metrics)
    labels = {"service": "campaign", "subscription": "metrics"}
    deadline = time.monotonic() + DEADLINE
    while (value(metrics, "mkt_consumer_messages_total", outcome="processed", **labels) or 0) < 3:
        assert time.monotonic() < deadline
        consumer.poll(0.2, max_batch=1)
    assert value(metrics, "mkt_consumer_messages_total", outcome="failed", **labels) == 1
    assert value(metrics, "mkt_consumer_event_delay_seconds_count", **labels) == 3
    assert value(metrics, "mkt_consumer_event_delay_seconds_sum", **labels) > 0
    assert value(metrics, "mkt_consumer_lag_seconds", **labels) > 0  # the last message's publish time -> now
    while consumer.poll(0.05):
        pass
    assert value(metrics, "mkt_consumer_lag_seconds", **labels) == 0  # caught up and idle
    # The relay publishing the same entries again (a crash before marking): duplicates, no second effect.
    producer = bus.producer(topic, SCHEMA)
    for event in _published(engine, topic):
        producer.send(event["key"], event["value"], event["properties"])
    while (value(metrics, "mkt_consumer_messages_total", outcome="duplicate", **labels) or 0) < 3:
        assert time.monotonic() < deadline
        consumer.poll(0.2)
    assert value(metrics, "mkt_consumer_messages_total", outcome="processed", **labels) == 3
    consumer.close()
    relay.close()


def _published(engine: Engine, topic: str) -> list[dict]:
    from sqlalchemy import select

    with engine.connect() as connection:
        return [{"key": r.key, "value": r.value, "properties": r.properties} for r in connection.execute(
            select(campaign_outbox).where(campaign_outbox.c.topic == topic).order_by(campaign_outbox.c.position))]


def test_the_scheduler_reports_starts_and_their_lateness(engine: Engine):
    ids = Ids()
    first, second = scheduled(engine, ids), scheduled(engine, ids, start=START + timedelta(minutes=1))
    metrics = fresh_metrics()
    late = START + timedelta(minutes=1, seconds=30)
    assert scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(late), signals=SchedulerMetrics(metrics)) == 2
    labels = {"service": "campaign", "trigger": "schedule"}
    assert value(metrics, "mkt_campaign_starts_total", outcome="ok", **labels) == 2
    assert value(metrics, "mkt_campaign_start_lateness_seconds_count", **labels) == 2
    assert value(metrics, "mkt_campaign_start_lateness_seconds_sum", **labels) == 90 + 30
    assert value(metrics, "mkt_campaign_start_lateness_seconds_bucket", le="60.0", **labels) == 1
    assert first != second
