"""`GET /healthz` behind the edge: the edge itself and the gRPC health of every
service in one JSON answer (200 when all serve, 503 otherwise).

    python -m edge.healthz
"""

from __future__ import annotations

import json
import logging
import signal
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from svc_kit.logs import configure_logging

from edge.settings import EdgeSettings, load_edge_settings

CHECK_TIMEOUT_SECONDS = 1.0
log = logging.getLogger("edge.healthz")


class HealthProbe:
    def __init__(self, settings: EdgeSettings):
        self.settings = settings
        self._certs_seen = self._certs_version()
        self.channels = {u.spec.name: self._channel(u) for u in settings.upstreams}
        self.pool = ThreadPoolExecutor(len(self.channels) + 1, thread_name_prefix="healthz")

    def _channel(self, upstream) -> grpc.Channel:
        """Plaintext to the service; with the local mesh, mutual TLS to its sidecar as the edge
        (the policy grants the edge grpc.health.v1.Health/Check on every service), checking that
        the sidecar's certificate names the service."""
        folder = self.settings.mesh_certs
        if folder is None:
            return grpc.insecure_channel(upstream.address)
        credentials = grpc.ssl_channel_credentials(root_certificates=(folder / "ca.crt").read_bytes(),
                                                   private_key=(folder / "edge.key").read_bytes(),
                                                   certificate_chain=(folder / "edge.crt").read_bytes())
        return grpc.secure_channel(upstream.address, credentials,
                                   options=[("grpc.ssl_target_name_override", upstream.spec.name)])

    def _certs_version(self) -> float | None:
        folder = self.settings.mesh_certs
        try:
            return None if folder is None else (folder / "edge.crt").stat().st_mtime
        except OSError:
            return None

    def _refresh(self) -> None:
        """The mesh renews the edge's certificate every 12 hours: new channels when it has."""
        version = self._certs_version()
        if version != self._certs_seen:
            self._certs_seen = version
            old, self.channels = self.channels, {u.spec.name: self._channel(u) for u in self.settings.upstreams}
            for channel in old.values():
                channel.close()

    def _service(self, name: str) -> str:
        upstream = next(u for u in self.settings.upstreams if u.spec.name == name)
        stub = health_pb2_grpc.HealthStub(self.channels[name])
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=upstream.spec.grpc_service),
                                  timeout=CHECK_TIMEOUT_SECONDS)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.RpcError as error:
            return "UNREACHABLE" if error.code() in (grpc.StatusCode.UNAVAILABLE,
                                                     grpc.StatusCode.DEADLINE_EXCEEDED) else error.code().name

    def _edge(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.admin_port}/ready",
                                        timeout=CHECK_TIMEOUT_SECONDS) as response:
                return "SERVING" if response.status == 200 else "NOT_SERVING"
        except OSError:
            return "NOT_SERVING"

    def report(self) -> dict:
        self._refresh()
        edge = self.pool.submit(self._edge)
        checks = {name: self.pool.submit(self._service, name) for name in self.channels}
        services = {
            u.spec.name: {"status": checks[u.spec.name].result(), "address": u.address,
                          "grpc_service": u.spec.grpc_service}
            for u in self.settings.upstreams
        }
        edge_status = edge.result()
        healthy = edge_status == "SERVING" and all(s["status"] == "SERVING" for s in services.values())
        return {"status": "SERVING" if healthy else "NOT_SERVING", "edge": {"status": edge_status},
                "services": services}


def make_server(settings: EdgeSettings) -> ThreadingHTTPServer:
    probe = HealthProbe(settings)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] != "/healthz":
                self._send(404, {"code": 5, "status": "NOT_FOUND", "message": f"no such path {self.path}"})
                return
            report = probe.report()
            self._send(200 if report["status"] == "SERVING" else 503, report)

        def _send(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, fmt, *args):
            log.debug(fmt, *args)

    return ThreadingHTTPServer(("127.0.0.1", settings.health_port), Handler)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    configure_logging("edge-healthz", "INFO")
    server = make_server(load_edge_settings())
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("serving /healthz", extra={"address": f"127.0.0.1:{server.server_address[1]}"})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
