"""A Jaeger v2 all-in-one (in-memory storage) for tests, benchmarks and `make run`: the OTLP receiver of
the services' and Envoys' spans, and the query API to read traces back.

    python -m devstack.servers.jaeger             # runs one in the foreground, prints its OTLP endpoint

In code:

    with ThrowawayJaeger() as jaeger:
        jaeger.otlp_endpoint   # http://127.0.0.1:PORT  (OTLP gRPC: OTEL_EXPORTER_OTLP_ENDPOINT)
        jaeger.query_url       # http://127.0.0.1:PORT  (/api/services, /api/traces?service=..., /api/traces/<id>)
        jaeger.traces("marketing-campaign")   # the query API's answer, decoded

The binary is devstack/tools/jaeger.py's (built once from the Go module proxy). It runs with a generated
collector config in a temporary folder: OTLP gRPC and HTTP receivers, the `jaeger_query` extension (HTTP
and gRPC) over a `memory` store, nothing else (no internal metrics port, no sampling or zpages servers),
all on 127.0.0.1. Ports are free ones unless given (`make run`: MKT_JAEGER_OTLP_PORT, MKT_JAEGER_QUERY_PORT
through devstack/servers/run.py). Ready when `GET /api/services` answers. Its web UI is only a placeholder
page in this build (the UI's assets are not in the Go module): read traces through the query API."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from collections.abc import MutableMapping

from devstack.processes import free_port
from devstack.servers.lifecycle import LaunchedServer, ServerUnavailable, run_in_foreground
from devstack.tools import jaeger as jaeger_tool
from svc_kit.config import OTLP_ENDPOINT
from svc_kit.settings_spec import Variable

# `make run`'s Jaeger (devstack/servers/run.py; docs/operations.md, "Traces").
SWITCH = Variable("MKT_JAEGER", "choice", "on", "`make run` starts Jaeger (when built) and the services, the "
                  "edge and the sidecars send it their spans; off: no Jaeger", choices=("ON", "OFF"))
OTLP_PORT = Variable("MKT_JAEGER_OTLP_PORT", "port", 4317, "OTLP gRPC port of `make run`'s Jaeger")
QUERY_PORT = Variable("MKT_JAEGER_QUERY_PORT", "port", 16686, "query API port of `make run`'s Jaeger")
VARIABLES = (SWITCH, OTLP_PORT, QUERY_PORT)
READY_TIMEOUT = 30.0
MAX_TRACES = 100_000

_CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query_port}
    grpc:
      endpoint: 127.0.0.1:{query_grpc_port}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {max_traces}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{otlp_port}
      http:
        endpoint: 127.0.0.1:{otlp_http_port}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


class JaegerUnavailable(ServerUnavailable):
    """Jaeger cannot be built or started here; the message says why and what to do."""


class ThrowawayJaeger(LaunchedServer):
    """Jaeger all-in-one in a temporary folder; OTLP gRPC and the query API on 127.0.0.1."""

    folder_prefix = "mkt-jaeger-"
    log_name = "jaeger.log"
    stop_timeout = 5.0

    def __init__(self, otlp_port: int | None = None, query_port: int | None = None,
                 ready_timeout: float = READY_TIMEOUT, build: bool = True):
        super().__init__()
        self.fixed_ports = (otlp_port, query_port)
        self.ready_timeout = ready_timeout
        self.build = build  # False: fail at once when it is not built yet (make run)
        self.otlp_port: int | None = None
        self.query_port: int | None = None

    # -- public ---------------------------------------------------------------------------------------

    @property
    def otlp_endpoint(self) -> str:
        if self.otlp_port is None:
            raise RuntimeError("Jaeger is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def query_url(self) -> str:
        if self.query_port is None:
            raise RuntimeError("Jaeger is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self.query_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.query_port is not None

    @property
    def failed_start_log(self) -> Path:
        return Path(tempfile.gettempdir()) / "mkt-jaeger-failed-start.log"

    def get(self, path: str, **query: Any) -> Any:
        """GET on the query API (`/api/...`), decoded from JSON."""
        url = f"{self.query_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    def services(self) -> list[str]:
        return self.get("/api/services").get("data") or []

    def traces(self, service: str, limit: int = 100, **query: Any) -> list[dict]:
        return self.get("/api/traces", service=service, limit=limit, **query).get("data") or []

    def trace(self, trace_id: str) -> dict | None:
        try:
            data = self.get(f"/api/traces/{trace_id}").get("data") or []
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise
        return data[0] if data else None

    # -- internals ------------------------------------------------------------------------------------

    def _prepare(self) -> list[str]:
        binary = jaeger_tool.installed()
        if binary is None:
            if not self.build:
                raise JaegerUnavailable(f"Jaeger {jaeger_tool.VERSION} is not built; build it once with "
                                        f"`.venv/bin/python -m devstack.tools.jaeger --install` (about 5 minutes)")
            try:
                binary = jaeger_tool.ensure_installed()
            except jaeger_tool.JaegerUnavailable as error:
                raise JaegerUnavailable(str(error)) from None
        return [str(binary)]

    def _pick_ports(self) -> tuple[int, ...]:
        ports: list[int] = []
        for fixed in (*self.fixed_ports, None, None):
            port = fixed or free_port()
            while port in ports:
                port = free_port()
            ports.append(port)
        return tuple(ports)  # otlp grpc, query http, otlp http, query grpc

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        self.otlp_port, self.query_port = (ports[0], ports[1]) if ports else (None, None)

    def _launch(self, command: list[str], otlp_port: int, query_port: int, otlp_http_port: int,
                query_grpc_port: int) -> None:
        assert self.folder is not None
        config = self.folder / "config.yaml"
        config.write_text(_CONFIG.format(otlp_port=otlp_port, query_port=query_port, otlp_http_port=otlp_http_port,
                                         query_grpc_port=query_grpc_port, max_traces=MAX_TRACES))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*command, "--config", str(config)], cwd=self.folder,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def _wait_until_ready(self, otlp_port: int, query_port: int, *_: int) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise JaegerUnavailable(f"jaeger exited with code {code} while starting; the last lines of its "
                                        f"log:\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{query_port}/api/services", timeout=1) as response:
                    json.loads(response.read())
                return
            except (urllib.error.URLError, OSError, ValueError) as error:
                last = str(error)
            time.sleep(0.05)
        raise JaegerUnavailable(f"jaeger was not ready after {self.ready_timeout:.0f} s ({last}); the last lines "
                                f"of its log:\n{self._tail()}")

    def _tail(self) -> str:
        from devstack.processes import tail

        return tail(self.log_path)


def start_for_run(env: MutableMapping[str, str]) -> tuple[ThrowawayJaeger | None, str]:
    """`make run`'s Jaeger: started when MKT_JAEGER is on, no collector is configured already and the binary is
    built; on success OTEL_EXPORTER_OTLP_ENDPOINT in `env` points at it. Returns it (or None) and a line to print."""
    if SWITCH.read(env) == "OFF":
        return None, "traces: off (MKT_JAEGER=off)"
    if OTLP_ENDPOINT.read(env):
        return None, f"traces: exported to {OTLP_ENDPOINT.read(env)} ({OTLP_ENDPOINT.name}); no local Jaeger"
    server = ThrowawayJaeger(OTLP_PORT.read(env), QUERY_PORT.read(env), build=False)
    try:
        server.start()
    except JaegerUnavailable as error:
        first = str(error).splitlines()[0]
        return None, f"traces: no Jaeger ({first}); MKT_JAEGER=off hides this line"
    env[OTLP_ENDPOINT.name] = server.otlp_endpoint
    return server, (f"traces: Jaeger {jaeger_tool.VERSION} query API {server.query_url}/api/services "
                    f"(OTLP {server.otlp_endpoint}; find a trace: {server.query_url}/api/traces?service=marketing-campaign)")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devstack.servers.jaeger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--otlp-port", type=int, default=None, help="OTLP gRPC port (default: a free one)")
    parser.add_argument("--query-port", type=int, default=None, help="query API port (default: a free one)")
    args = parser.parse_args(argv)

    def announce(server: ThrowawayJaeger) -> None:
        print(server.otlp_endpoint, flush=True)
        print(f"Jaeger ready in {server.startup_seconds:.2f} s; query API {server.query_url}/api/services; "
              f"Ctrl-C stops it (traces are kept in memory only)", file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayJaeger(args.otlp_port, args.query_port).start, "Jaeger", announce)


if __name__ == "__main__":
    sys.exit(main())
