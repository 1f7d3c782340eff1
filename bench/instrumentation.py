"""bench/instrumentation: what metrics and tracing cost a campaign read.

Three campaign services run side by side, each on its own throwaway state: one with instrumentation
on (gRPC server metrics, and every call traced and exported over OTLP to a real Jaeger all-in-one,
devstack/servers/jaeger.py), one with MKT_INSTRUMENTATION=off (no metrics recorded, no spans made),
and one on with MKT_TRACE_SAMPLE_RATIO=0.1 (a tenth of the traces it starts recorded and exported: a
production-like setting; the target is checked on the fully traced one).
Several concurrent clients call GetCampaign and ListCampaigns over gRPC straight to the service
(three reads of one campaign to one list of 20), rounds alternating between the two services so
machine noise hits both alike. The report gives calls/s for each and the ratio on/off (target
>= 0.9), and the service's calls per CPU-second of its own process, on and off.

    python -m bench.instrumentation [--calls 3000] [--rounds 3] [--clients 8] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.processes import cpu_seconds, free_ports
from devstack.servers.jaeger import JaegerUnavailable, ThrowawayJaeger
from marketing.campaign.v1 import campaign_pb2, campaign_service_pb2, campaign_service_pb2_grpc

TARGET_RATIO = 0.9
CAMPAIGNS = 20
SAMPLED = 0.1  # the third service's MKT_TRACE_SAMPLE_RATIO
MODES = ("on", "off", "on-sampled")




@dataclass
class Service:
    mode: str
    process: subprocess.Popen
    port: int
    log: Path
    names: list[str] = field(default_factory=list)
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"campaign service ({self.mode}) exited with {self.process.returncode}:\n"
                                       + self.log.read_text(errors="replace")[-2000:])
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                            health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"campaign service ({self.mode}) not ready after {timeout:.0f} s")

    def seed(self) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
            self.names = [stub.CreateCampaign(campaign_service_pb2.CreateCampaignRequest(
                parent="workspaces/bench", campaign=campaign_pb2.Campaign(
                    display_name=f"Bench {i}", labels={"team": "perf", "tier": "gold"}))).name
                for i in range(CAMPAIGNS)]


def start_service(mode: str, folder: Path, otlp_endpoint: str | None) -> Service:
    grpc_port, metrics_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"}
    env.update({"MKT_STATE_DIR": str(folder), "MKT_CAMPAIGN_GRPC_PORT": str(grpc_port),
                "MKT_CAMPAIGN_METRICS_PORT": str(metrics_port), "MKT_LOG_LEVEL": "WARNING",
                "MKT_INSTRUMENTATION": "off" if mode == "off" else "on",
                "MKT_TRACE_SAMPLE_RATIO": str(SAMPLED) if mode == "on-sampled" else "1"})
    if mode != "off" and otlp_endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    log = folder / "campaign.log"
    folder.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "svc_campaign"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Service(mode, process, grpc_port, log)


def load(service: Service, calls: int, clients: int) -> tuple[int, float]:
    """`calls` reads split over `clients` threads (each its own channel): GetCampaign three times for
    each ListCampaigns. Returns (calls made, wall seconds)."""
    per_client = calls // clients
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = campaign_service_pb2_grpc.CampaignServiceStub(channel)
            gets = [campaign_service_pb2.GetCampaignRequest(name=n) for n in service.names]
            listing = campaign_service_pb2.ListCampaignsRequest(parent="workspaces/bench", page_size=CAMPAIGNS)
            stub.GetCampaign(gets[0], timeout=10)  # connection warm before the clock starts
            barrier.wait()
            try:
                for i in range(per_client):
                    if i % 4 == 3:
                        stub.ListCampaigns(listing, timeout=10)
                    else:
                        stub.GetCampaign(gets[(index + i) % len(gets)], timeout=10)
            except BaseException as error:  # noqa: BLE001 - reported after the round
                errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"a read failed: {errors[0]}")
    return per_client * clients, wall


def spans_exported(jaeger: ThrowawayJaeger | None) -> int:
    if jaeger is None:
        return 0
    traces = jaeger.traces("marketing-campaign", limit=50, operation="marketing.campaign.v1.CampaignService/GetCampaign")
    return len(traces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="calls per round and service (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per service (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 400 calls, 1 round, 4 clients")
    args = parser.parse_args(argv)
    calls, rounds, clients = (400, 1, 4) if args.quick else (args.calls, args.rounds, args.clients)

    jaeger = ThrowawayJaeger()
    try:
        jaeger.start()
    except JaegerUnavailable as error:
        print(f"bench/instrumentation: Jaeger is needed as the OTLP receiver: {error}", file=sys.stderr)
        return 2
    services: dict[str, Service] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="mkt-bench-instr-") as state:
            for mode in MODES:
                services[mode] = start_service(mode, Path(state) / mode, jaeger.otlp_endpoint)
            for service in services.values():
                service.wait_ready()
                service.seed()
            print(f"bench/instrumentation: GetCampaign x3 + ListCampaigns x1 over gRPC straight to the campaign "
                  f"service, {clients} clients, {calls} calls x {rounds} rounds per service, alternating; "
                  f"instrumentation on = gRPC metrics + every call traced to Jaeger {jaeger.otlp_endpoint}")
            for _ in range(rounds):
                for mode in MODES:
                    service = services[mode]
                    before = cpu_seconds(service.process.pid)
                    done, wall = load(service, calls, clients)
                    service.cpu += cpu_seconds(service.process.pid) - before
                    service.calls += done
                    service.wall += wall
            # The "on" service really exported: Jaeger holds its GetCampaign traces (polled: export is batched).
            deadline = time.monotonic() + 30
            exported = spans_exported(jaeger)
            while exported == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
                exported = spans_exported(jaeger)
    finally:
        for service in services.values():
            service.process.terminate()
        for service in services.values():
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.process.kill()
        jaeger.stop()

    on, off, sampled = services["on"], services["off"], services["on-sampled"]
    rate = {m: services[m].calls / services[m].wall for m in MODES}
    per_cpu = {m: services[m].calls / services[m].cpu if services[m].cpu else float("inf") for m in MODES}
    labels = {"on": "on (every call traced)", "off": "off", "on-sampled": f"on, {SAMPLED:.0%} of traces sampled"}
    for mode in MODES:
        print(f"instrumentation {labels[mode]:<28} {rate[mode]:>8,.0f} calls/s   {per_cpu[mode]:>8,.0f} calls per "
              f"CPU-second of the service")
    ratio = rate["on"] / rate["off"]
    print(f"ratio on/off: throughput {ratio:.3f}, per CPU-second {per_cpu['on'] / per_cpu['off']:.3f}")
    print(f"ratio on ({SAMPLED:.0%} sampled)/off: throughput {rate['on-sampled'] / rate['off']:.3f}, "
          f"per CPU-second {per_cpu['on-sampled'] / per_cpu['off']:.3f}")
    print(f"traces of GetCampaign found in Jaeger: {exported}{'' if exported else '  (NONE: export did not work)'}")
    print(f"  target: throughput ratio >= {TARGET_RATIO}: {ratio:.2f} {'PASS' if ratio >= TARGET_RATIO else 'MISS'}")
    return 0 if exported else 1


if __name__ == "__main__":
    sys.exit(main())
