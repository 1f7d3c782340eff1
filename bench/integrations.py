"""bench/integrations: Segment `batch` ingest through the edge against posting the same
batches straight to analytics' IngestEvents over gRPC, in the same run.

The whole platform runs (embedded defaults). Each path gets the same batches of `track`
calls (fresh messageIds every round, so nothing is deduplicated away), sent by a few
concurrent clients; rounds alternate between the paths so machine noise hits both alike.
- segment: `POST /v1/batch` through the Envoy edge with the source's write key (HTTP
  Basic): the edge, the transcoder, the collector's checks, its messageId table, then
  IngestEvents to analytics;
- direct: the same events, already mapped, straight to analytics' IngestEvents (gRPC).
Printed: events/s of each path and the ratio segment/direct (target >= 0.5).

    python -m bench.integrations [--batches 60] [--batch-size 100] [--rounds 3] [--clients 4] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc

from devstack.processes import free_ports
from devstack.servers.platform import Platform
from edge.limits import HIGH_LIMITS
from marketing.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc
from marketing.integrations.v1 import integrations_service_pb2, integrations_service_pb2_grpc, source_pb2
from svc_kit.services import SERVICES

from svc_integrations.adapters.platform_clients import event_to_proto
from svc_integrations.domain.collect import behaviour_event, decode, read_calls

TARGET_RATIO = 0.5
WORKSPACE = "bench"


def segment_batch(size: int, run: str) -> dict:
    now = datetime.now(UTC).isoformat()
    return {"batch": [{"type": "track", "event": "Product Viewed", "userId": f"user-{i % 50}",
                       "messageId": f"{run}-{i}", "timestamp": now,
                       "properties": {"sku": f"SKU-{i % 500}", "price": 19.99, "currency": "EUR"},
                       "context": {"ip": "203.0.113.9", "library": {"name": "bench", "version": "1"}}}
                      for i in range(size)], "sentAt": now}


def direct_request(batch: dict) -> analytics_service_pb2.IngestEventsRequest:
    """The same calls as analytics events, mapped as the collector maps them."""
    body = json.dumps(batch).encode()
    calls = read_calls(decode("batch", body), datetime.now(UTC), lambda: uuid.uuid4().hex)
    events = [event_to_proto(behaviour_event("bench-direct", call)) for call in calls]
    return analytics_service_pb2.IngestEventsRequest(parent=f"workspaces/{WORKSPACE}", events=events)


def run_segment(edge_port: int, write_key: str, bodies: list[bytes], clients: int) -> float:
    """Seconds to post every body to /v1/batch with `clients` connections."""
    headers = {"content-type": "application/json",
               "authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=30)
        for body in share:
            connection.request("POST", "/v1/batch", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                failures.append(f"{response.status} {data[:200]!r}")
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"bench/integrations: /v1/batch failed: {failures[0]}")
    return time.perf_counter() - started


def run_direct(analytics_port: int, requests: list, clients: int) -> float:
    """Seconds to send every request to IngestEvents, a channel (connection) per client as /v1/batch has."""
    channels = [grpc.insecure_channel(f"127.0.0.1:{analytics_port}", options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(clients)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=10)
    failures: list[str] = []

    def client(channel, share: list) -> None:
        stub = analytics_service_pb2_grpc.AnalyticsServiceStub(channel)
        for request in share:
            response = stub.IngestEvents(request, timeout=30)
            if response.rejected:
                failures.append(str(response.rejected[0]))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(channels[i], requests[i::clients])) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for channel in channels:
        channel.close()
    if failures:
        raise SystemExit(f"bench/integrations: IngestEvents refused {failures[0]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=60, help="batches per round and path (default 60)")
    parser.add_argument("--batch-size", type=int, default=100, help="track calls per batch (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per path (default 3)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients per path (default 4)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 batches of 20, 1 round")
    args = parser.parse_args(argv)
    batches, size, rounds = (10, 20, 1) if args.quick else (args.batches, args.batch_size, args.rounds)

    ports = iter(free_ports(2 * len(SERVICES) + 4))
    env = dict(os.environ)
    for spec in SERVICES:
        env[spec.env_prefix + "GRPC_PORT"] = str(next(ports))
        env[spec.env_prefix + "METRICS_PORT"] = str(next(ports))
    for key in ("MKT_EDGE_PORT", "MKT_EDGE_ADMIN_PORT", "MKT_EDGE_HEALTH_PORT", "MKT_MONGO_PORT"):
        env[key] = str(next(ports))
    env["MKT_LOG_LEVEL"] = "WARNING"
    env.update(HIGH_LIMITS)
    edge_port = int(env["MKT_EDGE_PORT"])
    analytics_port = int(env["MKT_ANALYTICS_GRPC_PORT"])
    integrations_port = int(env["MKT_INTEGRATIONS_GRPC_PORT"])

    with tempfile.TemporaryDirectory() as state:
        platform = Platform(Path(state), env, out=io.StringIO())
        platform.start()
        try:
            platform.wait_ready(timeout=90)
            with grpc.insecure_channel(f"127.0.0.1:{integrations_port}") as channel:
                write_key = integrations_service_pb2_grpc.IntegrationsServiceStub(channel).CreateSource(
                    integrations_service_pb2.CreateSourceRequest(
                        parent=f"workspaces/{WORKSPACE}", source=source_pb2.Source(display_name="bench")),
                    timeout=10).write_key
            print(f"bench/integrations: {batches} batches of {size} track calls x {rounds} rounds per path, "
                  f"{args.clients} clients, paths alternating")
            totals = {"segment": 0.0, "direct": 0.0}
            # A warm-up of each path (connections, caches), not counted.
            run_segment(edge_port, write_key, [json.dumps(segment_batch(size, "warm")).encode()], 1)
            run_direct(analytics_port, [direct_request(segment_batch(size, "warm"))], 1)
            for round_ in range(rounds):
                bodies = [json.dumps(segment_batch(size, f"r{round_}-s{b}")).encode() for b in range(batches)]
                requests = [direct_request(segment_batch(size, f"r{round_}-d{b}")) for b in range(batches)]
                order = ("segment", "direct") if round_ % 2 == 0 else ("direct", "segment")
                for path in order:
                    if path == "segment":
                        totals[path] += run_segment(edge_port, write_key, bodies, args.clients)
                    else:
                        totals[path] += run_direct(analytics_port, requests, args.clients)
        finally:
            platform.stop()

    events = batches * size * rounds
    segment_rate, direct_rate = events / totals["segment"], events / totals["direct"]
    ratio = segment_rate / direct_rate
    print(f"segment /v1/batch via edge   {segment_rate:>10,.0f} events/s  ({events:,} events, "
          f"{totals['segment']:.2f} s)")
    print(f"direct IngestEvents (gRPC)   {direct_rate:>10,.0f} events/s  ({events:,} events, "
          f"{totals['direct']:.2f} s)")
    print(f"ratio segment/direct {ratio:.2f}  (target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
