"""bench/edge_auth: what authentication adds to the REST edge, in one run.

One platform, two Envoy edges in front of the same services: the platform's own
(authentication on: jwt_authn, and ext_authz asking the integrations service about
API keys, whose answer it caches) and a second rendered with authentication off
(edge/envoy_config.render(auth=False)), the baseline. GetCampaign over REST,
sequentially on one kept-alive connection, rounds alternating between

    off   the baseline edge, no credentials
    key   the platform's edge with an API key (mk_..., cached by the key check)
    jwt   the platform's edge with a JWT (ES256, verified in Envoy)

The report gives p50/p99 per path and what key and jwt add at p50 against off;
target: an API key adds at most 0.3 ms at p50. It also gives the edge's own time
per request from each edge's access log.

    python -m bench.edge_auth [--calls 2000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from bench.edge import RestClient, Sample, merge, run
from devstack.processes import free_ports
from devstack.servers.platform import Platform, envoy_binary, free_platform_ports
from edge import envoy_config
from edge.limits import HIGH_LIMITS
from edge.settings import load_edge_settings
from marketing.campaign.v1 import (
    campaign_pb2,
    campaign_service_pb2,
    campaign_service_pb2_grpc,
)
from marketing.integrations.v1 import (
    api_key_pb2,
    integrations_service_pb2,
    integrations_service_pb2_grpc,
)

TARGET_ADDED_P50_MS = 0.3
PATHS = ("off", "key", "jwt")


class _Client(RestClient):
    """A REST client that names its path in User-Agent, so the access log tells the paths apart."""

    def __init__(self, port: int, name: str, path: str, credential: str = ""):
        super().__init__(port, name, credential)
        self.headers["user-agent"] = f"bench-{path}"


def _own_times(log: Path) -> dict[str, list[int]]:
    values: dict[str, list[int]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("grpc_method", "")).endswith("/GetCampaign") and entry.get("upstream_us") is not None:
            try:
                own = int(entry["duration_us"]) - int(entry["upstream_us"])
            except (KeyError, TypeError, ValueError):
                continue
            values.setdefault(str(entry.get("user_agent", "")).removeprefix("bench-"), []).append(own)
    return values


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
    edge_port = int(env["MKT_EDGE_PORT"])
    off_port, off_admin = free_ports(2)

    with tempfile.TemporaryDirectory() as state:
        platform = Platform(Path(state), env, out=io.StringIO())
        platform.start()
        baseline = None
        try:
            platform.wait_ready(timeout=90)
            off_settings = load_edge_settings({**env, "MKT_EDGE_PORT": str(off_port),
                                               "MKT_EDGE_ADMIN_PORT": str(off_admin)})
            off_config = Path(state) / "edge-off.json"
            off_config.write_text(json.dumps(envoy_config.render(off_settings, auth=False)))
            off_log = Path(state) / "logs" / "edge-off.log"
            with open(off_log, "ab") as log:
                baseline = subprocess.Popen([envoy_binary(), "-c", str(off_config), "--disable-hot-restart",
                                             "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
            channel = grpc.insecure_channel(f"127.0.0.1:{env['MKT_CAMPAIGN_GRPC_PORT']}")
            name = campaign_service_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
                campaign_service_pb2.CreateCampaignRequest(parent="workspaces/bench", campaign=campaign_pb2.Campaign(
                    display_name="Bench", labels={"team": "perf"}))).name
            keys = integrations_service_pb2_grpc.IntegrationsServiceStub(
                grpc.insecure_channel(f"127.0.0.1:{env['MKT_INTEGRATIONS_GRPC_PORT']}"))
            key = keys.CreateApiKey(integrations_service_pb2.CreateApiKeyRequest(
                parent="workspaces/bench", api_key=api_key_pb2.ApiKey(role=api_key_pb2.ApiKey.ROLE_VIEWER))).key
            token = platform.dev_token({"bench": "viewer"}, subject="bench")
            deadline = time.monotonic() + 10
            while True:  # the baseline edge is up when it answers
                try:
                    RestClient(off_port, name)()
                    break
                except (OSError, RuntimeError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            clients = {"off": lambda: _Client(off_port, name, "off"),
                       "key": lambda: _Client(edge_port, name, "key", key),
                       "jwt": lambda: _Client(edge_port, name, "jwt", token)}
            results: dict[str, list[Sample]] = {path: [] for path in PATHS}
            print(f"bench/edge_auth: REST GetCampaign, {calls} calls x {rounds} rounds per path, sequential, "
                  "paths alternating")
            for _ in range(rounds):
                for path in PATHS:
                    results[path].append(run(clients[path], calls, 1))
        finally:
            if baseline is not None:
                baseline.terminate()
                baseline.wait(timeout=10)
            platform.stop()
        own = {**_own_times(off_log), **_own_times(Path(state) / "logs" / "edge.log")}

    merged = {path: merge(samples) for path, samples in results.items()}
    print(f"\n{'path':<6} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for path, sample in merged.items():
        print(f"{path:<6} {sample.rate:>9.0f} {sample.pct(0.5):>8.3f} {sample.pct(0.99):>8.3f}")
    off = merged["off"].pct(0.5)
    verdict = True
    for path in ("key", "jwt"):
        added = merged[path].pct(0.5) - off
        line = f"{path} adds {added:+.3f} ms at p50 ({merged[path].pct(0.5) / off:.2f}x of off)"
        if path == "key":
            verdict = added <= TARGET_ADDED_P50_MS
            line += f"; target <= {TARGET_ADDED_P50_MS} ms -> {'met' if verdict else 'MISSED'}"
        print(line)
    print("\nthe edges' own time per request (access log: request in to response out minus the upstream exchange):")
    p50s = {}
    for path in PATHS:
        ordered = sorted(own.get(path, []))
        if ordered:
            p50s[path] = ordered[len(ordered) // 2] / 1000
            print(f"  {path:<4} p50 {p50s[path]:.3f} ms  "
                  f"p99 {ordered[int(0.99 * len(ordered))] / 1000:.3f} ms  ({len(ordered)} requests)")
    for path in ("key", "jwt"):
        if path in p50s and "off" in p50s:
            print(f"  {path} adds {p50s[path] - p50s['off']:+.3f} ms of the edge's own time at p50")
    print(f"overall: {'target met' if verdict else 'target MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
