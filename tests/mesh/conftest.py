"""Helpers for the local mesh's tests: certificates from a throwaway CA, real Envoy sidecars
rendered by mesh/envoy.py, tiny gRPC servers standing in for a service, and mTLS clients."""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.request
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from devstack.processes import free_block, free_port, free_ports, tail
from mesh import ca, envoy
from mesh.policy import Policy, load
from tests.conftest import bus_env, platform_buses

INTRUDER = "intruder"  # an identity from the same CA that the policy does not know


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load()


def identities(policy: Policy) -> dict[str, tuple[str, list[str]]]:
    named = {name: (envoy.spiffe_id(policy, name), envoy.dns_names(policy, name))
             for name in [*(s.name for s in policy.services), "edge"]}
    named[INTRUDER] = (f"spiffe://{policy.trust_domain}/ns/{policy.namespace}/sa/{INTRUDER}", [INTRUDER])
    return named


@pytest.fixture(scope="session")
def certs(tmp_path_factory, policy) -> ca.Certificates:
    """The mesh's CA with a certificate for every workload, and one for an unknown identity."""
    certs = ca.issue(tmp_path_factory.mktemp("certs"), identities(policy))
    envoy.write_secrets(certs, identities(policy))
    return certs


@pytest.fixture(scope="session")
def rogue_certs(tmp_path_factory, policy) -> ca.Certificates:
    """Another CA, issuing the campaign service's very SPIFFE ID: not trusted by the mesh."""
    return ca.issue(tmp_path_factory.mktemp("rogue"), {"campaign": identities(policy)["campaign"]})


# -- Envoy --------------------------------------------------------------------------------------------


@dataclass
class RunningEnvoy:
    name: str
    config_path: Path
    admin_port: int
    process: subprocess.Popen
    log_path: Path

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/stats", timeout=5) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
                values[key] = int(value)
        return values

    def stat(self, name: str) -> int:
        return self.stats().get(name, 0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_envoy(name: str, config: dict, folder: Path, admin_port: int, timeout: float = 30) -> RunningEnvoy:
    path = envoy.write(folder / f"{name}.json", config)
    log_path = folder / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([envoy.envoy_binary(), "-c", str(path), "--disable-hot-restart",
                                    "--concurrency", "1", "--log-level", "warn"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    running = RunningEnvoy(name, path, admin_port, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"envoy {name} exited with {process.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1) as response:
                if response.status == 200:
                    return running
        except OSError:
            pass
        time.sleep(0.05)
    running.stop()
    raise RuntimeError(f"envoy {name} not ready after {timeout} s:\n{tail(log_path)}")


# -- a stand-in service -----------------------------------------------------------------------------


@dataclass
class FakeService:
    """Answers every method of one gRPC service with an empty message (valid for any response
    type); the first `fail_next` calls answer UNAVAILABLE instead. While `gate` is an Event not
    yet set, calls wait for it before answering (a service too slow for any deadline)."""

    grpc_service: str
    gate: threading.Event | None = None
    fail_next: int = 0
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: grpc.Server | None = None
    port: int = 0

    def _handle(self, method: str):
        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            with self.lock:
                self.calls.append(method)
                fail = self.fail_next > 0
                if fail:
                    self.fail_next -= 1
            if fail:
                context.abort(grpc.StatusCode.UNAVAILABLE, "a transient failure (test)")
            if self.gate is not None:
                self.gate.wait()
            return b""
        return grpc.unary_unary_rpc_method_handler(answer)

    def start(self) -> FakeService:
        service = self

        class Generic(grpc.GenericRpcHandler):
            def service(self, details):
                prefix = f"/{service.grpc_service}/"
                if details.method.startswith(prefix):
                    return service._handle(details.method)
                return None

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        self.server.add_generic_rpc_handlers((Generic(),))
        health_servicer = health.HealthServicer()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_servicer.set(self.grpc_service, health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()  # no handler thread left waiting
        if self.server is not None:
            self.server.stop(0)

    def count(self, method: str) -> int:
        with self.lock:
            return sum(1 for m in self.calls if m == method)


# -- clients ------------------------------------------------------------------------------------------


def mtls_channel(certs: ca.Certificates, identity: str, port: int, server_name: str) -> grpc.Channel:
    """A client presenting `identity`'s certificate, checking the server's DNS name."""
    credentials = grpc.ssl_channel_credentials(root_certificates=certs.ca.read_bytes(),
                                               private_key=certs.key(identity).read_bytes(),
                                               certificate_chain=certs.cert(identity).read_bytes())
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials,
                               options=[("grpc.ssl_target_name_override", server_name)])


def call(channel: grpc.Channel, method: str, timeout: float = 5.0, metadata=None) -> grpc.StatusCode:
    """Calls `method` with an empty request; the status it ends with."""
    try:
        channel.unary_unary(method)(b"", timeout=timeout, metadata=metadata)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


def ports(count: int) -> list[int]:
    return free_ports(count)


CAMPAIGN, ANALYTICS = "campaign", "analytics"
ANALYTICS_SERVICE = "marketing.analytics.v1.AnalyticsService"


@dataclass
class CallerAndCallee:
    """The campaign service's sidecar calling the analytics service's, which fronts a FakeService."""

    app: FakeService
    caller: RunningEnvoy  # campaign's sidecar
    callee: RunningEnvoy  # analytics's sidecar
    outbound_port: int  # campaign's sidecar, for calls to analytics (MKT_ANALYTICS_TARGET)
    inbound_port: int  # analytics's sidecar: the analytics service's public port

    def via_caller(self) -> grpc.Channel:
        """What the campaign service's own channel to analytics is: plaintext to its sidecar."""
        return grpc.insecure_channel(f"127.0.0.1:{self.outbound_port}")

    def stop(self) -> None:
        self.caller.stop()
        self.callee.stop()
        self.app.stop()


def caller_and_callee(policy: Policy, certs: ca.Certificates, folder: Path, app: FakeService,
                      callee_streams: int | None = None) -> CallerAndCallee:
    """`callee_streams`: the analytics sidecar's inbound listener takes that many calls at once
    per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS), as a server that serves one call at a
    time would; the caller's sidecar then queues the others (its pending requests)."""
    folder.mkdir(parents=True, exist_ok=True)
    free = iter(ports(8 + 2 * len(policy.services)))
    # Every service's public port: analytics's and campaign's are their sidecars', the others
    # are left closed (nothing there to call in these tests).
    public = {s.name: next(free) for s in policy.services}
    sidecars = {}
    for name, app_port in ((ANALYTICS, app.port), (CAMPAIGN, next(free))):
        admin = next(free)
        outbound = {c.name: next(free) for c in policy.callees(name)}
        config = envoy.sidecar(policy, name, certs=certs, inbound_port=public[name], app_port=app_port,
                               admin_port=admin, outbound=outbound, callee_ports=public)
        if name == ANALYTICS and callee_streams is not None:
            inbound = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            inbound["typed_config"]["http2_protocol_options"] = {"max_concurrent_streams": callee_streams}
        sidecars[name] = (start_envoy(f"{name}-sidecar", config, folder, admin), outbound)
    (callee, _), (caller, outbound) = sidecars[ANALYTICS], sidecars[CAMPAIGN]
    return CallerAndCallee(app, caller, callee, outbound[ANALYTICS], public[ANALYTICS])


# -- the whole platform with the mesh ------------------------------------------------------------------


@pytest.fixture(scope="session", params=platform_buses())
def running(request, tmp_path_factory):
    """The whole platform (tests/e2e/conftest.py's fixture) with every service behind its sidecar,
    on free ports; the same shape, so that the e2e REST checks run against it unchanged. Once on each
    bus, like the e2e one."""
    import io
    import os

    from devstack.servers import prometheus
    from devstack.servers.platform import Platform, free_platform_ports
    from edge.limits import HIGH_LIMITS
    from mesh.local import BLOCK, PORT_BASE_VARIABLE
    from svc_kit.services import SERVICES
    from tests.e2e.conftest import Rest, RunningPlatform

    env: dict = free_platform_ports()
    prometheus_port = free_port() if prometheus.binary() else None
    env[PORT_BASE_VARIABLE] = free_block(BLOCK * (len(SERVICES) + 1), avoid=[*env.values(), prometheus_port])
    grpc_ports = {spec.name: env[spec.env_prefix + "GRPC_PORT"] for spec in SERVICES}
    metrics_ports = {spec.name: env[spec.env_prefix + "METRICS_PORT"] for spec in SERVICES}
    edge_port = env["MKT_EDGE_PORT"]
    env.update(HIGH_LIMITS)  # the edge's rate limits stay out of the way (edge/limits.py)
    env.update(bus_env(request, request.param, "mesh"))
    platform = Platform(tmp_path_factory.mktemp("state"), {**os.environ, **{k: str(v) for k, v in env.items()}},
                        out=io.StringIO(), mesh=True,
                        # Prometheus as `make run` starts it (a supervised child), when it is installed.
                        prometheus_port=prometheus_port)
    platform.start()
    try:
        platform.wait_ready(timeout=90)
        yield RunningPlatform(platform, Rest(edge_port, platform.dev_token({"*": "admin"}, subject="tests")),
                              grpc_ports, metrics_ports, edge_port, request.param)
    finally:
        platform.stop()
