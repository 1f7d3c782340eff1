"""Starts the whole platform (six services, /healthz, the real Envoy edge) on
free ports with a throwaway state folder, once per test session."""

from __future__ import annotations

import http.client
import io
import json
from dataclasses import dataclass

import grpc
import pytest

from devstack.processes import free_ports
from devstack.servers.platform import Platform, free_platform_ports
from edge.limits import HIGH_LIMITS
from svc_kit.services import SERVICES
from tests.conftest import bus_env, platform_buses


@dataclass
class Response:
    status: int
    body: object
    headers: dict[str, str]


_DEFAULT = object()


class Rest:
    """REST through the edge. Every call carries `token` (an admin JWT for every workspace,
    from the platform's development key) unless `token=None` (no credentials) or another
    token or `mk_` key is given; `headers` may also set Authorization itself."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.token = token

    def call(self, method: str, path: str, body=None, raw: bytes | None = None,
             headers: dict[str, str] | None = None, token=_DEFAULT) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        token = self.token if token is _DEFAULT else token
        send_headers = {"content-type": "application/json",
                        **({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        connection.request(method, path, body=payload, headers=send_headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return Response(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})

    def ok(self, method: str, path: str, body=None, headers: dict[str, str] | None = None):
        """The answer's body of a call that must succeed (200); else the test fails showing the answer."""
        response = self.call(method, path, body, headers=headers)
        assert response.status == 200, (method, path, response.status, response.body)
        return response.body


@dataclass
class RunningPlatform:
    platform: Platform
    rest: Rest
    grpc_ports: dict[str, int]
    metrics_ports: dict[str, int]
    edge_port: int
    bus: str = "embedded"  # or "pulsar": the session platform runs once on each (tests/conftest.py)

    def channel(self, service: str) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_ports[service]}")


@pytest.fixture(scope="session", params=platform_buses())
def running(request, tmp_path_factory) -> RunningPlatform:
    """The whole platform, once on each bus (MKT_TEST_BUSES chooses): every test taking it runs on
    the embedded bus and on Pulsar, except those marked embedded_only."""
    env: dict = free_platform_ports()  # with the local email, SMS and push providers' (devstack sinks)
    grpc_ports = {spec.name: env[spec.env_prefix + "GRPC_PORT"] for spec in SERVICES}
    metrics_ports = {spec.name: env[spec.env_prefix + "METRICS_PORT"] for spec in SERVICES}
    edge_port = env["MKT_EDGE_PORT"]
    # Tests open and click seconds after the send: count those as a person's, not a scanner's.
    env["MKT_ANALYTICS_MACHINE_DELAY_SECONDS"] = "0"
    env["MKT_ANALYTICS_BATCH_DELAY_SECONDS"] = "0.1"
    # For tests only: a campaign labelled mkt-fault-at fails that launch step on purpose (test_campaign_saga_faults.py).
    env["MKT_CAMPAIGN_FAULT_INJECTION"] = "true"
    # The edge's rate limit (per principal: every test shares the admin token) stays out of the way;
    # tests/e2e/test_rate_limits.py starts an edge with low limits of its own.
    env.update(HIGH_LIMITS)
    env.update(bus_env(request, request.param, "e2e"))
    import os

    full_env = {**os.environ, **{k: str(v) for k, v in env.items()}}
    platform = Platform(tmp_path_factory.mktemp("state"), full_env, out=io.StringIO())
    platform.start()
    try:
        platform.wait_ready(timeout=90)
        admin = platform.dev_token({"*": "admin"}, subject="tests")
        yield RunningPlatform(platform, Rest(edge_port, admin), grpc_ports, metrics_ports, edge_port, request.param)
    finally:
        platform.stop()


@pytest.fixture(scope="session")
def prometheus(running, tmp_path_factory):
    """A real Prometheus (Debian's package) scraping every target of the running platform each second
    (devstack/servers/prometheus.py), with the rule files of deploy/prometheus/ that exist."""
    from devstack.servers import prometheus as server
    from tests.conftest import _unavailable

    if server.binary() is None:
        _unavailable("Prometheus", f"not installed ({server.INSTALL_HINT})")
    [port] = free_ports(1)
    instance = server.PrometheusServer(tmp_path_factory.mktemp("prometheus"), port,
                                       server.scrape_targets(running.platform), server.TEST_INTERVAL)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
