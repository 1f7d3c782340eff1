"""bench/edge: what the Envoy REST edge adds to a campaign read.

GetCampaign is called directly over gRPC (the baseline), as gRPC through the
edge (the proxy hop alone) and as REST through the edge (hop plus JSON
transcoding), sequentially and with 8 concurrent clients. Rounds alternate between
the two paths so machine noise hits both alike; the report gives calls/s,
p50/p99 per path and the edge's added latency in ms and as a ratio, plus the
campaign service's reads per second of its own CPU time (one core's worth),
next to the same figure for two floors measured in the same run
(bench.floor_server answering from memory: through the shared runtime, and
through a bare grpc.aio server). The request validation's cost (protovalidate,
in the shared interceptor) is measured twice in the same run: the shared-runtime
floor with and without it, rounds alternating, and in-process, the time to
validate a GetCampaign and a full CreateCampaign request against the time to
decode it.

    python -m bench.edge [--calls 2000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from devstack.processes import cpu_seconds, free_ports
from devstack.servers.platform import Platform, free_platform_ports
from edge.limits import HIGH_LIMITS
from marketing.campaign.v1 import (
    campaign_pb2,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
)

TARGET_ADDED_P50_MS = 0.3
TARGET_READS_PER_CORE_SECOND = 2000
CONCURRENCY = 8
PATHS = ("direct", "edge-grpc", "edge-rest")




@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class GrpcClient:
    def __init__(self, port: int, name: str, token: str = ""):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.call = campaign_service_pb2_grpc.CampaignServiceStub(self.channel).GetCampaign
        self.request = campaign_service_pb2.GetCampaignRequest(name=name)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None

    def __call__(self) -> None:
        self.call(self.request, timeout=10, metadata=self.metadata)

    def close(self) -> None:
        self.channel.close()


class RestClient:
    def __init__(self, port: int, name: str, token: str = ""):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.path = f"/v1/{name}"
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    def __call__(self) -> None:
        self.connection.request("GET", self.path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"edge answered {response.status}: {body[:200]!r}")

    def close(self) -> None:
        self.connection.close()


def run(make_client, calls: int, concurrency: int) -> Sample:
    sample = Sample()
    per_worker = calls // concurrency
    clients = [make_client() for _ in range(concurrency)]
    for client in clients:  # warm connections
        client()
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def worker(client) -> None:
        local = []
        barrier.wait()
        for _ in range(per_worker):
            t0 = time.perf_counter()
            client()
            local.append(time.perf_counter() - t0)
        with lock:
            sample.latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    sample.wall = time.perf_counter() - start
    for client in clients:
        client.close()
    return sample


def _edge_own_time(log: Path) -> dict[str, list[int]]:
    """Microseconds Envoy spent on each GetCampaign itself, by path."""
    own: dict[str, list[int]] = {"edge-grpc": [], "edge-rest": []}
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if not str(entry.get("grpc_method", "")).endswith("/GetCampaign") or entry.get("upstream_us") is None:
            continue
        path = "edge-rest" if str(entry["path"]).startswith("/v1/") else "edge-grpc"
        own[path].append(int(entry["duration_us"]) - int(entry["upstream_us"]))
    return own


def _floor_reads_per_cpu_second(env: dict[str, str], calls: int, *flags: str) -> float:
    """Runs bench.floor_server on spare ports and measures it like the service."""
    grpc_port, metrics_port = free_ports(2)
    floor_env = env | {"MKT_CAMPAIGN_GRPC_PORT": str(grpc_port), "MKT_CAMPAIGN_METRICS_PORT": str(metrics_port)}
    process = subprocess.Popen([sys.executable, "-m", "bench.floor_server", *flags], env=floor_env)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        channel.close()
        before = cpu_seconds(process.pid)
        sample = run(lambda: GrpcClient(grpc_port, "workspaces/bench/campaigns/floor"), calls, 1)
        return len(sample.latencies) / (cpu_seconds(process.pid) - before)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _validation_in_process(repeat: int = 20000) -> list[tuple[str, float, float]]:
    """(request, µs to decode, µs to validate) for a GetCampaign and a full CreateCampaign request."""
    from google.protobuf import duration_pb2

    from svc_kit.validation import check_request

    full = campaign_pb2.Campaign(
        display_name="Spring sale", description="x" * 500, channels=[1, 2],
        target_segments=[f"workspaces/bench/segments/s{i}" for i in range(10)],
        contents=[campaign_pb2.ContentRef(channel=1, template="workspaces/bench/templates/t")],
        labels={f"k{i}": "v" for i in range(10)},
        ab_test=campaign_pb2.AbTest(test_share_percent=20, wait=duration_pb2.Duration(seconds=3600)))
    requests = [("GetCampaign", campaign_service_pb2.GetCampaignRequest(name="workspaces/bench/campaigns/c")),
                ("CreateCampaign", campaign_service_pb2.CreateCampaignRequest(parent="workspaces/bench",
                                                                               campaign=full))]
    out = []
    for label, request in requests:
        raw, parse = request.SerializeToString(), type(request).FromString
        check_request(request)  # compile the rules once, as the first call does
        t0 = time.perf_counter()
        for _ in range(repeat):
            parse(raw)
        decode = (time.perf_counter() - t0) / repeat * 1e6
        t0 = time.perf_counter()
        for _ in range(repeat):
            check_request(request)
        out.append((label, decode, (time.perf_counter() - t0) / repeat * 1e6))
    return out


def merge(samples: list[Sample]) -> Sample:
    return Sample([x for s in samples for x in s.latencies], sum(s.wall for s in samples))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and path (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per path (default 3)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 calls, 1 round")
    args = parser.parse_args(argv)
    calls, rounds = (200, 1) if args.quick else (args.calls, args.rounds)

    env = {**os.environ, **{name: str(port) for name, port in free_platform_ports().items()}}
    env["MKT_LOG_LEVEL"] = "WARNING"
    env.update(HIGH_LIMITS)  # the rate limit filter runs, but never refuses the benchmark's calls
    grpc_port, edge_port = int(env["MKT_CAMPAIGN_GRPC_PORT"]), int(env["MKT_EDGE_PORT"])

    with tempfile.TemporaryDirectory() as state:
        platform = Platform(Path(state), env, out=io.StringIO())
        platform.start()
        try:
            platform.wait_ready(timeout=90)
            stub = campaign_service_pb2_grpc.CampaignServiceStub(grpc.insecure_channel(f"127.0.0.1:{grpc_port}"))
            name = stub.CreateCampaign(campaign_service_pb2.CreateCampaignRequest(
                parent="workspaces/bench",
                campaign=campaign_pb2.Campaign(display_name="Bench", labels={"team": "perf", "tier": "gold"}),
            )).name
            campaign_pid = next(c for c in platform.children if c.name == "campaign").process.pid
            token = platform.dev_token({"bench": "viewer"}, subject="bench")
            results: dict[tuple[str, str], list[Sample]] = {}
            cpu: dict[str, list[tuple[int, float]]] = {path: [] for path in PATHS}
            print(f"bench/edge: GetCampaign, {calls} calls x {rounds} rounds per path and mode, paths alternating")
            for mode, concurrency in (("sequential", 1), (f"{CONCURRENCY} clients", CONCURRENCY)):
                for _ in range(rounds):
                    clients = {"direct": lambda: GrpcClient(grpc_port, name),
                               "edge-grpc": lambda: GrpcClient(edge_port, name, token),
                               "edge-rest": lambda: RestClient(edge_port, name, token)}
                    for path in PATHS:
                        make = clients[path]
                        before = cpu_seconds(campaign_pid)
                        sample = run(make, calls, concurrency)
                        cpu[path].append((len(sample.latencies), cpu_seconds(campaign_pid) - before))
                        results.setdefault((mode, path), []).append(sample)
            floor_per_core = _floor_reads_per_cpu_second(env, calls * rounds)
            bare_per_core = _floor_reads_per_cpu_second(env, calls * rounds, "--bare")
            validated, unvalidated = [], []
            for _ in range(rounds):  # alternating, so noise hits both alike
                validated.append(_floor_reads_per_cpu_second(env, calls))
                unvalidated.append(_floor_reads_per_cpu_second(env, calls, "--no-validation"))
        finally:
            platform.stop()
        edge_own = _edge_own_time(Path(state) / "logs" / "edge.log")

    print(f"\n{'mode':<12} {'path':<10} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    verdict_ok = True
    for mode in ("sequential", f"{CONCURRENCY} clients"):
        merged = {path: merge(results[(mode, path)]) for path in PATHS}
        for path, s in merged.items():
            print(f"{mode:<12} {path:<10} {s.rate:>9.0f} {s.pct(0.5):>8.3f} {s.pct(0.99):>8.3f}")
        direct = merged["direct"]
        for path in PATHS[1:]:
            edge = merged[path]
            added = edge.pct(0.5) - direct.pct(0.5)
            print(f"{'':<12} {path} adds {added:+.3f} ms at p50 ({edge.pct(0.5) / direct.pct(0.5):.2f}x), "
                  f"{edge.pct(0.99) - direct.pct(0.99):+.3f} ms at p99; throughput {edge.rate / direct.rate:.2f}x")
    print("(client-side differences include the Python clients' own cost: HTTP/1.1 and JSON parsing for REST)")
    print("\nthe edge's own time per GetCampaign, from its access log (request in to response out, "
          "minus the upstream exchange):")
    for path, values in edge_own.items():
        ordered = sorted(values)
        p50, p99 = ordered[len(ordered) // 2] / 1000, ordered[int(0.99 * len(ordered))] / 1000
        line = f"  {path:<10} p50 {p50:.3f} ms  p99 {p99:.3f} ms  ({len(ordered)} requests)"
        if path == "edge-rest":
            ok = p50 <= TARGET_ADDED_P50_MS
            verdict_ok &= ok
            line += f"; target <= {TARGET_ADDED_P50_MS} ms at p50 -> {'met' if ok else 'MISSED'}"
        print(line)
    calls_done = sum(n for n, _ in cpu["direct"])
    cpu_used = sum(c for _, c in cpu["direct"])
    per_core = calls_done / cpu_used if cpu_used else float("inf")
    ok = per_core >= TARGET_READS_PER_CORE_SECOND
    verdict_ok &= ok
    print(f"\ncampaign service: {per_core:.0f} GetCampaign per CPU-second of its process over gRPC "
          f"({calls_done} calls, {cpu_used:.2f} s CPU); target >= {TARGET_READS_PER_CORE_SECOND} -> "
          f"{'met' if ok else 'MISSED'}")
    print(f"floors, answering from memory: shared runtime {floor_per_core:.0f} per CPU-second, bare grpc.aio "
          f"{bare_per_core:.0f}; the campaign service reaches {per_core / floor_per_core:.2f}x and "
          f"{per_core / bare_per_core:.2f}x of them")
    with_v, without_v = sum(validated) / len(validated), sum(unvalidated) / len(unvalidated)
    print(f"request validation (protovalidate in the shared interceptor), shared-runtime floor: "
          f"{with_v:.0f} GetCampaign per CPU-second with it, {without_v:.0f} without "
          f"({with_v / without_v:.3f}x; {(1 / with_v - 1 / without_v) * 1e6:+.1f} µs of CPU per call)")
    for label, decode, validate in _validation_in_process():
        print(f"  in-process, {label}: decode {decode:.2f} µs, validate {validate:.2f} µs "
              f"({validate / decode:.2f}x the decode)")
    print(f"overall: {'all targets met' if verdict_ok else 'some targets MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
