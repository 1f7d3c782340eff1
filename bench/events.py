"""bench/events: events through the transactional outbox and an idempotent
consumer, against the raw bus, on both adapters, in the same run.

The producing side (outbox table, relay) runs in this process and the
consuming side in a child process with its own database, as two services
would. Per adapter (embedded; Pulsar on a throwaway standalone broker, or the
one at MKT_TEST_PULSAR_URL / MKT_TEST_PULSAR_ADMIN_URL):
- raw: the same Avro campaign envelopes straight from producer to consumer
  (Pulsar: plain pulsar-client configured as the adapter is, bytes in and out;
  embedded: the adapter itself);
- outbox: N events already committed to an outbox table, published by
  OutboxRelay and consumed by InboxConsumer (inbox row + a side-effect row per
  event, in one transaction) -> events/s and the ratio to raw;
- steady: 1,000 events/s committed for a few seconds; end-to-end latency from
  commit to the consumer's side effect, p50/p99.

    python -m bench.events [--events 20000] [--seconds 5] [--quick] [--only embedded|pulsar]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert

import event_schemas
from svc_kit.bus.port import Bus, OutgoingMessage
from svc_kit.db import make_engine
from svc_kit.events.inbox import InboxConsumer, inbox_table
from svc_kit.events.outbox import Outbox, OutboxEntry, OutboxRelay, outbox_table, start_relay
from svc_kit.ids import new_id

from svc_campaign.adapters import event_codec
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.values import Channel, ContentRef

SCHEMA = event_schemas.load("campaign.v1")
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
STEADY_RATE = 1000


FIELDS = CampaignFields(
    display_name="Spring sale", description="Twenty percent off everything", channels=(Channel.EMAIL,),
    target_segments=("workspaces/bench/segments/vip",),
    contents=(ContentRef(Channel.EMAIL, "workspaces/bench/templates/spring"),), labels={"team": "growth"})


def envelope(i: int) -> dict:
    campaign = Campaign.create("bench", f"c{i % 500:04d}", FIELDS, datetime.now(UTC))
    return event_codec.envelope(campaign.events[0])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_bus(spec: dict) -> Bus:
    if spec["kind"] == "embedded":
        from svc_kit.bus.embedded import EmbeddedBus

        return EmbeddedBus(Path(spec["path"]))
    from svc_kit.bus.pulsar import PulsarBus

    return PulsarBus(spec["url"], spec["admin"])


# -- the consuming service (child process) --------------------------------------------------------------

def consume(spec: dict, topic: str, mode: str, folder: Path, count: int, result: Path) -> None:
    """Subscribes, says "ready", consumes `count` events, writes timings to `result`."""
    latencies: list[float] = []
    legs: list[float] = []  # of each latency, the part after the bus accepted the message
    if mode == "raw-pulsar":
        import pulsar

        client = pulsar.Client(spec["url"], logger=_quiet_logger())
        consumer = client.subscribe(topic, "bench", consumer_type=pulsar.ConsumerType.KeyShared,
                                    initial_position=pulsar.InitialPosition.Earliest)
        print("ready", flush=True)
        for _ in range(count):
            consumer.acknowledge(consumer.receive(timeout_millis=120_000))
        done = time.time()
        client.close()
    else:
        bus = make_bus(spec)
        if mode == "raw-bus":
            consumer = bus.consumer(topic, "bench", SCHEMA)
            print("ready", flush=True)
            received = 0
            while received < count:
                message = consumer.receive(5)
                if message is not None:
                    consumer.ack(message)
                    received += 1
        else:
            metadata = MetaData()
            inbox = inbox_table(metadata, "bench_inbox")
            effects = Table("bench_effects", metadata, Column("id", Integer, primary_key=True),
                            Column("event_id", String(26)))
            engine = make_engine(f"sqlite:///{folder / 'consumer.sqlite3'}")
            metadata.create_all(engine)

            record_effect = insert(effects).values(event_id=bindparam("event_id"))

            def effect(connection, event, message):
                connection.execute(record_effect, {"event_id": event["event_id"]})
                now = datetime.now(UTC)
                latencies.append((now - event["occurred_at"]).total_seconds() * 1000)
                legs.append((now - message.publish_time).total_seconds() * 1000)

            consumer = InboxConsumer(bus, engine, inbox, topic, "bench", SCHEMA, effect)
            print("ready", flush=True)
            while consumer.processed < count:
                consumer.poll(1.0)
        done = time.time()
        consumer.close()
        bus.close()
    result.write_text(json.dumps({"done": done, "latencies": latencies, "legs": legs}))


class Child:
    def __init__(self, spec: dict, topic: str, mode: str, folder: Path, count: int):
        self.result = folder / f"result-{uuid.uuid4().hex[:6]}.json"
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.events", "--consumer", json.dumps(spec), topic, mode, str(folder),
             str(count), str(self.result)], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the consumer process did not start (said {line!r})")

    def finish(self, timeout: float = 300) -> dict:
        self.process.wait(timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"the consumer process failed with code {self.process.returncode}")
        return json.loads(self.result.read_text())


# -- the producing service (this process) -----------------------------------------------------------------

class ProducerSide:
    def __init__(self, folder: Path, topic: str):
        metadata = MetaData()
        self.outbox = Outbox(outbox_table(metadata, "bench_outbox"), {topic: SCHEMA})
        folder.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(f"sqlite:///{folder / 'producer.sqlite3'}")
        metadata.create_all(self.engine)
        self.topic = topic

    def commit(self, records: list[dict]) -> None:
        with self.engine.begin() as connection:
            self.outbox.write(connection, [OutboxEntry(r["event_id"], self.topic, r["aggregate_id"], r, {})
                                           for r in records])


def fresh_records(count: int) -> list[dict]:
    records = [envelope(i) for i in range(count)]
    for record in records:
        record["event_id"] = new_id()
    return records


def raw_rate(spec: dict, folder: Path, records: list[dict], batching: bool = False) -> float:
    topic = f"persistent://public/default/bench-raw-{uuid.uuid4().hex[:8]}"
    if spec["kind"] == "pulsar":
        import pulsar

        from svc_kit.bus.pulsar import PIPELINE

        child = Child(spec, topic, "raw-pulsar", folder / "raw", len(records))
        client = pulsar.Client(spec["url"], logger=_quiet_logger())
        producer = client.create_producer(topic, batching_enabled=batching, batching_max_publish_delay_ms=1,
                                          max_pending_messages=PIPELINE, block_if_queue_full=True)
        payloads = [(r["aggregate_id"], SCHEMA.encode(r)) for r in records]
        start = time.time()
        for key, data in payloads:
            producer.send_async(data, None, partition_key=key)
        producer.flush()
        done = child.finish()["done"]
        client.close()
    else:
        bus = make_bus(spec)
        producer = bus.producer(topic, SCHEMA)
        child = Child(spec, topic, "raw-bus", folder / "raw", len(records))
        start = time.time()
        for i in range(0, len(records), 500):
            producer.send_batch([OutgoingMessage(r["aggregate_id"], r) for r in records[i:i + 500]])
        done = child.finish()["done"]
        bus.close()
    return len(records) / (done - start)


def outbox_rate(spec: dict, folder: Path, records: list[dict]) -> float:
    side = ProducerSide(folder / "throughput", f"bench-outbox-{uuid.uuid4().hex[:8]}")
    for i in range(0, len(records), 1000):
        side.commit(records[i:i + 1000])
    bus = make_bus(spec)
    bus.producer(side.topic, SCHEMA).close()  # registers the schema before the consumer subscribes
    child = Child(spec, side.topic, "inbox", folder / "throughput", len(records))
    relay = OutboxRelay(side.engine, side.outbox, bus)
    start = time.time()
    thread, stop = start_relay(relay)
    done = child.finish()["done"]
    stop.set()
    thread.join(10)
    relay.close()
    bus.close()
    return len(records) / (done - start)


def steady_latencies(spec: dict, folder: Path, seconds: float) -> tuple[list[float], list[float]]:
    side = ProducerSide(folder / "steady", f"bench-steady-{uuid.uuid4().hex[:8]}")
    total = int(seconds * STEADY_RATE)
    bus = make_bus(spec)
    bus.producer(side.topic, SCHEMA).close()
    child = Child(spec, side.topic, "inbox", folder / "steady", total)
    relay = OutboxRelay(side.engine, side.outbox, bus)
    thread, stop = start_relay(relay)
    per_tick = 10
    tick = per_tick / STEADY_RATE
    records = fresh_records(total)  # made beforehand: the steady phase measures the platform, not this loop
    next_at = time.perf_counter()
    for i in range(0, total, per_tick):
        batch = records[i:i + per_tick]
        now = datetime.now(UTC)
        for record in batch:
            record["occurred_at"] = now
        side.commit(batch)
        relay.wake.set()
        next_at += tick
        time.sleep(max(0.0, next_at - time.perf_counter()))
    result = child.finish()
    stop.set()
    thread.join(10)
    relay.close()
    bus.close()
    return result["latencies"], result["legs"]


def _quiet_logger():
    logger = logging.getLogger("bench.pulsar")
    logger.setLevel(logging.WARNING)
    return logger


@contextlib.contextmanager
def pulsar_broker():
    url, admin = os.environ.get("MKT_TEST_PULSAR_URL"), os.environ.get("MKT_TEST_PULSAR_ADMIN_URL")
    if url and admin:
        yield url, admin
        return
    from devstack.servers.pulsar import ThrowawayPulsar

    with ThrowawayPulsar() as broker:
        yield broker.service_url, broker.admin_url


def run_adapter(name: str, spec: dict, folder: Path, events: int, seconds: float) -> bool:
    records = fresh_records(events)
    raw = raw_rate(spec, folder, records)
    context = raw_rate(spec, folder, records, batching=True) if spec["kind"] == "pulsar" else None
    through = outbox_rate(spec, folder, records)
    latencies, legs = steady_latencies(spec, folder, seconds)
    ratio = through / raw
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"{name:<9} raw {raw:>8,.0f} events/s   outbox+inbox {through:>8,.0f} events/s   ratio {ratio:.2f}")
    if context:
        print(f"{'':<9} (raw with default batching, which would break per-key order across consumers: "
              f"{context:,.0f} events/s)")
    print(f"{'':<9} steady {STEADY_RATE}/s for {seconds:.0f} s: {len(latencies)} events, end-to-end "
          f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  (mean {statistics.fmean(latencies):.1f} ms); of which from "
          f"the bus's publish time to the side effect: p50 {percentile(legs, 0.5):.1f} ms  "
          f"p99 {percentile(legs, 0.99):.1f} ms")
    if spec["kind"] != "pulsar":
        return True
    ok_ratio, ok_p99 = ratio >= TARGET_RATIO, p99 < TARGET_P99_MS
    print(f"{'':<9} targets: ratio >= {TARGET_RATIO} -> {'met' if ok_ratio else 'MISSED'}; "
          f"p99 < {TARGET_P99_MS:.0f} ms at {STEADY_RATE}/s -> {'met' if ok_p99 else 'MISSED'}")
    return ok_ratio and ok_p99


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--consumer":
        spec, topic, mode, folder, count, result = argv[1:]
        consume(json.loads(spec), topic, mode, Path(folder), int(count), Path(result))
        # The result is written; skip interpreter teardown, where pulsar-client's
        # C++ threads calling back into Python logging can abort the process.
        sys.stdout.flush()
        os._exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 events, 1 s steady")
    parser.add_argument("--only", choices=("embedded", "pulsar"))
    args = parser.parse_args(argv)
    events, seconds = (1000, 1.0) if args.quick else (args.events, args.seconds)
    print(f"bench/events: {events} campaign events per throughput run, then {STEADY_RATE}/s for {seconds:.0f} s; "
          "consumers in a process of their own")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "embedded"):
            spec = {"kind": "embedded", "path": str(folder / "bus.sqlite3")}
            run_adapter("embedded", spec, folder / "embedded", events, seconds)
        if args.only in (None, "pulsar"):
            with pulsar_broker() as (url, admin):
                run_adapter("pulsar", {"kind": "pulsar", "url": url, "admin": admin}, folder / "pulsar", events,
                            seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
