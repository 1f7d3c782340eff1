"""bench/journeys: the journey runtime of the campaign service on its embedded defaults (a SQLite database,
the embedded bus), in one process, against a baseline measured in the same run.

- setup (not timed): a migrated campaign database; an abandoned-cart journey (product_added_to_cart -> wait
  1 h for purchase -> email -> wait -> exit; goal purchase) and an instant one (signup -> email -> exit),
  published; `--profiles` profiles inside the cart journey, waiting; `--timers` more of them due now.
- timers: the timer worker's passes over the due entries, each sending its email through a notify stand-in
  (a gRPC NotifyService on a local port answering BatchSendMessages, recording each request's arrival):
  timers fired per second.
- events: `--events` event_tracked envelopes on the embedded bus (page views and purchases of profiles inside,
  carts of new profiles), consumed twice on two subscriptions: once by an inbox consumer that does nothing
  else (the baseline: the bus, the decoding and the inbox), once by the journeys' consumer (the same, plus
  the evaluation: entries moved, goals, new entries). Events per second of each and their ratio.
- latency: `--latency` signup events, each of a new profile, paced, with the journeys' consumer and the timer
  worker running as in the service: from the event's publication to the notify stand-in receiving the send
  request for that profile; p50 and p99 (the issue's target: p99 at most 1 s on embedded defaults).

    python -m bench.journeys [--profiles 100000] [--timers 10000] [--events 20000] [--latency 300] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from sqlalchemy import insert

import event_schemas
from marketing.notify.v1 import notify_service_pb2 as notify_pb
from marketing.notify.v1 import notify_service_pb2_grpc as notify_grpc
from svc_kit.bus.factory import make_bus
from svc_kit.db import make_engine
from svc_kit.events.inbox import InboxConsumer
from svc_kit.ids import new_id

from svc_campaign import migrate
from svc_campaign.adapters.journey_store import SqlJourneys
from svc_campaign.adapters.peers import GrpcJourneyNotify
from svc_campaign.adapters.tables import campaign_inbox, journey_entries
from svc_campaign.domain.journey import Definition, Reentry, Step, Trigger
from svc_campaign.entrypoints.journeys import BEHAVIOUR_TOPIC, JourneyWorker, journey_consumers
from svc_campaign.service_layer import journeys

WS = "bench-journeys"
EMAIL = f"workspaces/{WS}/templates/cart"


class NotifyStandIn(notify_grpc.NotifyServiceServicer):
    """Answers BatchSendMessages at once; records when each recipient's first request arrived."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.requests = 0

    async def BatchSendMessages(self, request, context):
        now = time.perf_counter()
        for r in request.requests:
            self.arrived.setdefault(r.message.recipient.rsplit("/", 1)[-1], now)
        self.requests += len(request.requests)
        return notify_pb.BatchSendMessagesResponse(results=[notify_pb.SendMessageResult()
                                                            for _ in request.requests])


def serve_notify(stand_in: NotifyStandIn) -> tuple[int, callable]:
    ready, port = threading.Event(), [0]
    stop = threading.Event()

    async def main():
        server = grpc.aio.server()
        notify_grpc.add_NotifyServiceServicer_to_server(stand_in, server)
        port[0] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await server.stop(0)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    return port[0], lambda: (stop.set(), thread.join(5))


def cart() -> Definition:
    hour = timedelta(hours=1)
    return Definition(Trigger("event", "product_added_to_cart"), (
        Step("wait1", "wait", duration=hour, event="purchase", on_event="done", on_timeout="email"),
        Step("email", "send", next="wait2", channel="EMAIL", template=EMAIL),
        Step("wait2", "wait", duration=hour, event="purchase", on_event="done", on_timeout="done"),
        Step("done", "exit")), "wait1", "purchase", Reentry("ALWAYS"))


def instant() -> Definition:
    return Definition(Trigger("event", "signup"), (
        Step("email", "send", next="done", channel="EMAIL", template=EMAIL), Step("done", "exit")),
        "email", "", Reentry("ONCE"))


def seed(engine, count: int, due: datetime, prefix: str) -> None:
    """`count` entries of the cart journey waiting at wait1 until `due` (bulk rows: setup, not timed)."""
    now = datetime.now(UTC)
    rows = [{"id": f"{prefix}{i:08d}", "workspace": WS, "journey_id": "cart", "version": 1,
             "profile": f"{prefix}{i}", "trigger_event": f"seed-{prefix}{i}", "state": "ACTIVE", "step": "wait1",
             "waiting": True, "due_time": due, "seen": [], "enter_time": now, "update_time": now, "revision": 0}
            for i in range(count)]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(journey_entries), rows[start:start + 5000])


def envelope(event_id: str, profile: str, name: str) -> dict:
    return {"event_id": event_id, "event_type": "event_tracked", "workspace": WS, "aggregate_id": profile,
            "aggregate_version": 1, "occurred_at": datetime.now(UTC), "producer": "bench", "traceparent": None,
            "tracestate": None, "payload": ("marketing.behaviour.v1.EventTracked", {
                "profile": f"workspaces/{WS}/profiles/{profile}", "name": name, "properties": {"sku": "42"}})}


def drain(consumer: InboxConsumer, total: int, limit: float = 600) -> float:
    started = time.perf_counter()
    while consumer.processed + consumer.duplicates < total:
        consumer.poll(0.2, max_batch=500, max_gather=0.01)
        if time.perf_counter() - started > limit:
            raise SystemExit(f"gave up: {consumer.subscription} consumed {consumer.processed} of {total}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000, help="profiles inside the cart journey")
    parser.add_argument("--timers", type=int, default=10_000, help="timers due at once")
    parser.add_argument("--events", type=int, default=20_000, help="tracked events consumed (each way)")
    parser.add_argument("--latency", type=int, default=300, help="signup events timed to notify's request")
    parser.add_argument("--quick", action="store_true", help="a small run (the smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.profiles, args.timers, args.events, args.latency = 500, 300, 600, 30

    with tempfile.TemporaryDirectory(prefix="bench-journeys-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'campaign.sqlite3'}")
        migrate.upgrade(engine)
        bus = make_bus({"MKT_BUS": "embedded", "MKT_BUS_PATH": str(Path(folder) / "bus.sqlite3")})
        stand_in = NotifyStandIn()
        port, stop_notify = serve_notify(stand_in)
        tx = SqlJourneys(engine)
        clock = datetime.now
        for journey_id, definition in (("cart", cart()), ("instant", instant())):
            journeys.create_journey(tx, WS, journey_id, journey_id, definition, datetime.now(UTC), new_id)
            journeys.publish_journey(tx, WS, journey_id, "", datetime.now(UTC))
        seed(engine, args.profiles, datetime.now(UTC) + timedelta(hours=1), "in")
        seed(engine, args.timers, datetime.now(UTC) - timedelta(seconds=1), "due")
        print(f"setup: {args.profiles:,} profiles inside the cart journey, {args.timers:,} timers due now")

        # timers
        notify = GrpcJourneyNotify(lambda: grpc.aio.insecure_channel(f"127.0.0.1:{port}"))

        async def fire_all() -> int:
            fired = 0
            while True:
                claimed = await journeys.run_due(tx, notify, lambda: datetime.now(UTC))
                fired += claimed
                if claimed == 0:
                    return fired
        started = time.perf_counter()
        fired = asyncio.run(fire_all())
        seconds = time.perf_counter() - started
        print(f"timers   {fired:,} fired in {seconds:.2f} s: {fired / seconds:,.0f} timers/s "
              f"({stand_in.requests:,} send requests to notify)")
        if fired != args.timers or stand_in.requests != args.timers:
            print(f"MISMATCH: {fired} fired, {stand_in.requests} sends for {args.timers} timers")
            return 1

        # events: baseline and evaluation, the same envelopes
        schema = event_schemas.load("behaviour.v1")
        wake = threading.Event()
        baseline = InboxConsumer(bus, engine, campaign_inbox, BEHAVIOUR_TOPIC, "bench-baseline", schema,
                                 lambda connection, event, message: None)
        evaluating = journey_consumers(bus, engine, wake)[0]
        producer = bus.producer(BEHAVIOUR_TOPIC, schema)
        for i in range(args.events):
            kind = i % 10
            if kind < 7:
                profile, name = f"in{i % max(1, args.profiles)}", "page_viewed"
            elif kind < 9:
                profile, name = f"in{(i * 7919) % max(1, args.profiles)}", "purchase"
            else:
                profile, name = f"new{i}", "product_added_to_cart"
            producer.send(profile, envelope(f"ev-{i}", profile, name))
        base_seconds = drain(baseline, args.events)
        eval_seconds = drain(evaluating, args.events)
        base_rate, eval_rate = args.events / base_seconds, args.events / eval_seconds
        print(f"events   baseline (inbox only) {base_rate:,.0f} events/s   with evaluation {eval_rate:,.0f} events/s"
              f"   ratio {eval_rate / base_rate:.2f}")

        # latency: consumer and worker threads as in the service
        stop = threading.Event()
        worker = JourneyWorker(engine, lambda: GrpcJourneyNotify(
            lambda: grpc.aio.insecure_channel(f"127.0.0.1:{port}")))
        worker.wake = wake
        threads = [threading.Thread(target=evaluating.run, args=(stop,), daemon=True),
                   threading.Thread(target=worker.run, args=(stop,), daemon=True)]
        for t in threads:
            t.start()
        published: dict[str, float] = {}
        for i in range(args.latency):
            profile = f"sign{i}"
            published[profile] = time.perf_counter()
            producer.send(profile, envelope(f"sign-{i}", profile, "signup"))
            time.sleep(0.02)
        deadline = time.perf_counter() + 60
        while not all(p in stand_in.arrived for p in published) and time.perf_counter() < deadline:
            time.sleep(0.05)
        stop.set()
        wake.set()
        for t in threads:
            t.join(10)
        latencies = sorted(stand_in.arrived[p] - published[p] for p in published if p in stand_in.arrived)
        if len(latencies) != len(published):
            print(f"MISMATCH: {len(latencies)} of {len(published)} signups reached notify")
            return 1
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"latency  trigger event -> notify send request over {len(latencies)} signups: "
              f"p50 {statistics.median(latencies) * 1000:.0f} ms   p99 {p99 * 1000:.0f} ms   (target p99 <= 1000 ms)")
        producer.close()
        baseline.close()
        evaluating.close()
        bus.close()
        stop_notify()
        engine.dispose()
        del clock
    return 0


if __name__ == "__main__":
    sys.exit(main())
