"""bench/events: events through the transactional outbox and an idempotent
consumer, against the raw bus, on both adapters, in the same run.

Per adapter (embedded; Pulsar on a throwaway standalone broker, or the one at
MKT_TEST_PULSAR_URL / MKT_TEST_PULSAR_ADMIN_URL):
- raw: the same Avro campaign envelopes straight from producer to consumer
  (Pulsar: plain pulsar-client, bytes in, bytes out; embedded: the adapter);
- outbox: N events already committed to an outbox table, published by
  OutboxRelay and consumed by InboxConsumer (inbox row + a side-effect row per
  event, in one transaction) -> events/s and the ratio to raw;
- steady: 1,000 events/s committed for a few seconds, end-to-end latency from
  commit to the consumer's side effect, p50/p99.

    python -m bench.events [--events 20000] [--seconds 5] [--quick] [--only embedded|pulsar]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

import event_schemas
from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.bus.port import OutgoingMessage
from svc_kit.db import make_engine
from svc_kit.events.inbox import InboxConsumer, inbox_table
from svc_kit.events.outbox import Outbox, OutboxEntry, OutboxRelay, outbox_table, start_relay
from svc_kit.ids import new_id

from svc_campaign.adapters import event_codec
from svc_campaign.domain.model import Campaign
from tests.fakes import ready_fields

SCHEMA = event_schemas.load("campaign.v1")
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
STEADY_RATE = 1000


def envelope(i: int, when: datetime | None = None) -> dict:
    when = when or datetime.now(UTC)
    campaign = Campaign.create("bench", f"c{i % 500:04d}", ready_fields("bench"), when)
    return event_codec.envelope(campaign.events[0])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stores:
    """The producing service's outbox and the consuming service's inbox, in two SQLite files."""

    def __init__(self, folder: Path, topic: str):
        producer_meta, consumer_meta = MetaData(), MetaData()
        self.outbox = Outbox(outbox_table(producer_meta, "bench_outbox"), {topic: SCHEMA})
        self.inbox = inbox_table(consumer_meta, "bench_inbox")
        self.effects = Table("bench_effects", consumer_meta, Column("id", Integer, primary_key=True),
                             Column("event_id", String(26)))
        self.producer_engine = make_engine(f"sqlite:///{folder / 'producer.sqlite3'}")
        self.consumer_engine = make_engine(f"sqlite:///{folder / 'consumer.sqlite3'}")
        producer_meta.create_all(self.producer_engine)
        consumer_meta.create_all(self.consumer_engine)
        self.topic = topic

    def commit(self, records: list[dict]) -> None:
        with self.producer_engine.begin() as connection:
            self.outbox.write(connection, [OutboxEntry(r["event_id"], self.topic, r["aggregate_id"], r, {})
                                           for r in records])


def raw_pulsar(service_url: str, records: list[dict], batching: bool = False) -> float:
    """Plain pulsar-client, bytes in and out. Without batching it is configured as
    the adapter is (the fair baseline); with default batching it shows what
    giving up per-key ordering across consumers would buy."""
    import pulsar

    from svc_kit.bus.pulsar import PIPELINE

    client = pulsar.Client(service_url, logger=_quiet_logger())
    topic = f"persistent://public/default/bench-raw-{uuid.uuid4().hex[:8]}"
    consumer = client.subscribe(topic, "raw", consumer_type=pulsar.ConsumerType.KeyShared,
                                initial_position=pulsar.InitialPosition.Earliest)
    producer = client.create_producer(topic, batching_enabled=batching, batching_max_publish_delay_ms=1,
                                      max_pending_messages=PIPELINE, block_if_queue_full=True)
    payloads = [(r["aggregate_id"], SCHEMA.encode(r)) for r in records]
    received = threading.Event()

    def consume():
        for _ in payloads:
            consumer.acknowledge(consumer.receive(timeout_millis=60_000))
        received.set()

    thread = threading.Thread(target=consume)
    thread.start()
    start = time.perf_counter()
    for key, data in payloads:
        producer.send_async(data, None, partition_key=key)
    producer.flush()
    received.wait(120)
    elapsed = time.perf_counter() - start
    thread.join(5)
    client.close()
    return len(payloads) / elapsed


def raw_adapter(bus, records: list[dict]) -> float:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    consumer = bus.consumer(topic, "raw", SCHEMA)
    producer = bus.producer(topic, SCHEMA)
    done = threading.Event()

    def consume():
        for _ in records:
            message = None
            while message is None:
                message = consumer.receive(5)
            consumer.ack(message)
        done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    start = time.perf_counter()
    for i in range(0, len(records), 500):
        producer.send_batch([OutgoingMessage(r["aggregate_id"], r) for r in records[i:i + 500]])
    done.wait(300)
    elapsed = time.perf_counter() - start
    thread.join(5)
    consumer.close()
    producer.close()
    return len(records) / elapsed


def through_outbox(bus, folder: Path, records: list[dict]) -> float:
    (folder / "throughput").mkdir(exist_ok=True)
    stores = Stores(folder / "throughput", f"bench-outbox-{uuid.uuid4().hex[:8]}")
    for i in range(0, len(records), 1000):
        stores.commit(records[i:i + 1000])
    consumer = InboxConsumer(bus, stores.consumer_engine, stores.inbox, stores.topic, "bench", SCHEMA,
                             lambda c, event, m: c.execute(insert(stores.effects).values(event_id=event["event_id"])))
    relay = OutboxRelay(stores.producer_engine, stores.outbox, bus)
    start = time.perf_counter()
    thread, stop = start_relay(relay)
    while consumer.processed < len(records):
        consumer.poll(1.0)
    elapsed = time.perf_counter() - start
    stop.set()
    thread.join(10)
    relay.close()
    consumer.close()
    return len(records) / elapsed


def steady_latency(bus, folder: Path, seconds: float) -> list[float]:
    (folder / "steady").mkdir(exist_ok=True)
    stores = Stores(folder / "steady", f"bench-steady-{uuid.uuid4().hex[:8]}")
    latencies: list[float] = []

    def effect(connection, event, message):
        connection.execute(insert(stores.effects).values(event_id=event["event_id"]))
        latencies.append((datetime.now(UTC) - event["occurred_at"]).total_seconds() * 1000)

    consumer = InboxConsumer(bus, stores.consumer_engine, stores.inbox, stores.topic, "bench", SCHEMA, effect)
    relay = OutboxRelay(stores.producer_engine, stores.outbox, bus)
    relay_thread, stop = start_relay(relay)
    total = int(seconds * STEADY_RATE)
    per_tick, tick = 10, 10 / STEADY_RATE

    def produce():
        next_at = time.perf_counter()
        for i in range(0, total, per_tick):
            stores.commit([envelope(i + j) for j in range(per_tick)])
            relay.wake.set()
            next_at += tick
            time.sleep(max(0.0, next_at - time.perf_counter()))

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + seconds + 60
    while consumer.processed < total and time.monotonic() < deadline:
        consumer.poll(0.5)
    producer.join()
    stop.set()
    relay_thread.join(10)
    relay.close()
    consumer.close()
    return latencies


def _quiet_logger():
    import logging

    logger = logging.getLogger("bench.pulsar")
    logger.setLevel(logging.WARNING)
    return logger


@contextlib.contextmanager
def pulsar_broker():
    url, admin = os.environ.get("MKT_TEST_PULSAR_URL"), os.environ.get("MKT_TEST_PULSAR_ADMIN_URL")
    if url and admin:
        yield url, admin
        return
    from devstack.pulsar import ThrowawayPulsar

    with ThrowawayPulsar() as broker:
        yield broker.service_url, broker.admin_url


def run_adapter(name: str, make_bus, raw, folder: Path, events: int, seconds: float, context=None) -> bool:
    records = [envelope(i) for i in range(events)]
    for record in records:
        record["event_id"] = new_id()
    bus = make_bus()
    try:
        raw_rate = raw(bus, records)
        context_rate = context(records) if context else None
        outbox_rate = through_outbox(bus, folder, records)
        latencies = steady_latency(bus, folder, seconds)
    finally:
        bus.close()
    ratio = outbox_rate / raw_rate
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"{name:<9} raw {raw_rate:>8,.0f} events/s   outbox+inbox {outbox_rate:>8,.0f} events/s   "
          f"ratio {ratio:.2f}")
    if context_rate:
        print(f"{'':<9} (raw with default batching, which would break per-key order across consumers: "
              f"{context_rate:,.0f} events/s)")
    print(f"{'':<9} steady {STEADY_RATE}/s for {seconds:.0f} s: {len(latencies)} events, end-to-end "
          f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  (mean {statistics.fmean(latencies):.1f} ms)")
    if name != "pulsar":
        return True
    ok_ratio, ok_p99 = ratio >= TARGET_RATIO, p99 < TARGET_P99_MS
    print(f"{'':<9} targets: ratio >= {TARGET_RATIO} -> {'met' if ok_ratio else 'MISSED'}; "
          f"p99 < {TARGET_P99_MS:.0f} ms at {STEADY_RATE}/s -> {'met' if ok_p99 else 'MISSED'}")
    return ok_ratio and ok_p99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 events, 1 s steady")
    parser.add_argument("--only", choices=("embedded", "pulsar"))
    args = parser.parse_args(argv)
    events, seconds = (1000, 1.0) if args.quick else (args.events, args.seconds)
    print(f"bench/events: {events} campaign events per throughput run, then {STEADY_RATE}/s for {seconds:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "embedded"):
            (folder / "embedded").mkdir()
            run_adapter("embedded", lambda: EmbeddedBus(folder / "embedded" / "bus.sqlite3"), raw_adapter,
                        folder / "embedded", events, seconds)
        if args.only in (None, "pulsar"):
            from svc_kit.bus.pulsar import PulsarBus

            with pulsar_broker() as (url, admin):
                (folder / "pulsar").mkdir()
                run_adapter("pulsar", lambda: PulsarBus(url, admin), lambda bus, records: raw_pulsar(url, records),
                            folder / "pulsar", events, seconds,
                            context=lambda records: raw_pulsar(url, records, batching=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
