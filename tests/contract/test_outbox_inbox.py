"""The outbox relay and idempotent consumers over both bus adapters: nothing is
lost when the relay dies between publish and mark, a redelivered event has no
second effect, and the consumer's span is a child of the producer's."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select

import event_schemas
from svc_kit.bus.port import Bus, OutgoingMessage
from svc_kit.clock import utcnow
from svc_kit.db import make_engine
from svc_kit.events.inbox import InboxConsumer, inbox_table
from svc_kit.events.outbox import Outbox, OutboxRelay
from svc_kit.ids import new_id
from svc_kit.tracing import add_span_processor, configure_tracing

from svc_campaign import migrate
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.domain import commands
from svc_campaign.service_layer import handlers
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.contract.test_bus import BusFactory, bus_factory  # noqa: F401 - the adapters fixture
from tests.fakes import ready_fields

SCHEMA = event_schemas.load("campaign.v1")
DEADLINE = 30.0

side_effects_metadata = MetaData()
INBOX = inbox_table(side_effects_metadata, "test_inbox")
EFFECTS = Table("test_effects", side_effects_metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(26), nullable=False),
                Column("event_type", String(64), nullable=False))


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.sqlite3'}")
    migrate.upgrade(engine)
    side_effects_metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def topic_outbox() -> Outbox:
    """The campaign outbox, but on a topic of this test's own."""
    return Outbox(campaign_outbox, {f"outbox-{uuid.uuid4().hex[:12]}": SCHEMA})


def make_campaigns(engine: Engine, outbox: Outbox, count: int) -> list[str]:
    """Creates campaigns through the real unit of work; returns the event ids it committed."""
    for i in range(count):
        handlers.create_campaign(commands.CreateCampaign("acme", ready_fields(), f"c{i:03d}"),
                                 SqlUnitOfWork(engine, outbox=outbox), utcnow, new_id)
    with engine.connect() as connection:
        return list(connection.execute(select(campaign_outbox.c.event_id).order_by(campaign_outbox.c.position))
                    .scalars())


class CrashingBus(Bus):
    """Publishes the first `survive` messages, then dies (as a killed relay would)."""

    def __init__(self, inner: Bus, survive: int):
        self.inner, self.survive = inner, survive

    def producer(self, topic, schema):
        real = self.inner.producer(topic, schema)
        outer = self

        class Dying:
            def send_batch(self, messages: list[OutgoingMessage]):
                allowed = messages[:outer.survive]
                real.send_batch(allowed)
                outer.survive -= len(allowed)
                if len(allowed) < len(messages):
                    raise KeyboardInterrupt("relay killed after publishing, before marking")

            def close(self):
                real.close()

        return Dying()

    def consumer(self, *args, **kwargs):
        return self.inner.consumer(*args, **kwargs)

    def close(self):
        self.inner.close()


def consume_until(consumer: InboxConsumer, processed: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while consumer.processed < processed:
        assert time.monotonic() < deadline, f"processed {consumer.processed} of {processed}"
        consumer.poll(0.2)


def record_effect(connection, event, message) -> None:
    connection.execute(insert(EFFECTS).values(event_id=event["event_id"], event_type=event["event_type"]))


def effects(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(EFFECTS.c.event_id).order_by(EFFECTS.c.id)).scalars())


def test_a_relay_killed_between_publish_and_mark_loses_nothing(bus_factory, engine, topic_outbox):
    topic = next(iter(topic_outbox.schemas))
    event_ids = make_campaigns(engine, topic_outbox, 10)
    bus = bus_factory()
    consumer = InboxConsumer(bus, engine, INBOX, topic, "audit", SCHEMA, record_effect)
    dying = OutboxRelay(engine, topic_outbox, CrashingBus(bus, survive=4), batch_size=10)
    with pytest.raises(KeyboardInterrupt):
        dying.run_once()
    with engine.connect() as connection:  # nothing was marked: the crash came before the mark
        unpublished = connection.execute(select(func.count()).select_from(campaign_outbox)
                                         .where(campaign_outbox.c.published_time.is_(None))).scalar_one()
    assert unpublished == 10
    back = OutboxRelay(engine, topic_outbox, bus, batch_size=3)
    while back.run_once():
        pass
    consume_until(consumer, 10)
    assert effects(engine) == event_ids  # every event once, in commit order
    drain = time.monotonic() + 2
    while time.monotonic() < drain:
        consumer.poll(0.1)
    assert effects(engine) == event_ids
    assert consumer.duplicates == 4  # the four published before the crash went out twice
    consumer.close()


def test_every_event_delivered_twice_has_one_side_effect(bus_factory, engine, topic_outbox):
    topic = next(iter(topic_outbox.schemas))
    event_ids = make_campaigns(engine, topic_outbox, 8)
    bus = bus_factory()
    relay = OutboxRelay(engine, topic_outbox, bus)
    relay.run_once()
    with engine.begin() as connection:  # publish everything a second time
        connection.execute(campaign_outbox.update().values(published_time=None))
    relay.run_once()
    consumer = InboxConsumer(bus, engine, INBOX, topic, "audit", SCHEMA, record_effect)
    deadline = time.monotonic() + DEADLINE
    while consumer.processed + consumer.duplicates < 16:
        assert time.monotonic() < deadline, (consumer.processed, consumer.duplicates)
        consumer.poll(0.2)
    assert consumer.processed == 8 and consumer.duplicates == 8
    assert sorted(effects(engine)) == sorted(event_ids)
    relay.close()
    consumer.close()


def test_a_failing_side_effect_is_rolled_back_and_retried(bus_factory, engine, topic_outbox):
    from svc_kit.bus.port import SubscriptionOptions

    topic = next(iter(topic_outbox.schemas))
    event_ids = make_campaigns(engine, topic_outbox, 1)
    bus = bus_factory()
    OutboxRelay(engine, topic_outbox, bus).run_once()
    failures = []

    def flaky(connection, event, message):
        record_effect(connection, event, message)
        if not failures:
            failures.append(event["event_id"])
            raise RuntimeError("downstream hiccup")

    consumer = InboxConsumer(bus, engine, INBOX, topic, "flaky", SCHEMA, flaky,
                             SubscriptionOptions(redelivery_delay=0.2))
    consume_until(consumer, 1)
    assert failures == event_ids
    assert effects(engine) == event_ids  # the failed attempt left nothing behind
    consumer.close()


def test_the_consumers_span_is_a_child_of_the_relays_publish_span_under_the_writing_call(bus_factory, engine,
                                                                                         topic_outbox):
    configure_tracing("campaign", None)
    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    topic = next(iter(topic_outbox.schemas))
    with trace.get_tracer("test").start_as_current_span("CreateCampaign request") as request_span:
        make_campaigns(engine, topic_outbox, 1)
    bus = bus_factory()
    OutboxRelay(engine, topic_outbox, bus).run_once()
    consumer = InboxConsumer(bus, engine, INBOX, topic, "traced", SCHEMA, record_effect)
    consume_until(consumer, 1)
    consumer.close()
    finished = exporter.get_finished_spans()
    spans = [s for s in finished if s.name == f"{consumer.topic} process"]
    publishes = [s for s in finished if s.name == f"{topic} publish"]
    assert spans and publishes, [s.name for s in finished]
    request_context = request_span.get_span_context()
    # request -> publish (PRODUCER, the relay) -> process (CONSUMER): one trace across the bus
    assert publishes[0].kind is trace.SpanKind.PRODUCER and spans[0].kind is trace.SpanKind.CONSUMER
    assert publishes[0].context.trace_id == spans[0].context.trace_id == request_context.trace_id
    assert publishes[0].parent.span_id == request_context.span_id
    assert spans[0].parent.span_id == publishes[0].context.span_id
