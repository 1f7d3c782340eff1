"""The grpc.aio server every service runs: health (per service), reflection,
metrics, the shared interceptor and a graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from svc_kit.config import Settings
from svc_kit.interceptor import ServerInterceptor
from svc_kit.metrics import PROCESS_REGISTRY, GrpcServerMetrics, configure_service

log = logging.getLogger("svc_kit.server")

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class StartupError(RuntimeError):
    """The service cannot start (a port in use, a store out of reach)."""


@dataclass
class Mounted:
    """What a service's bootstrap hands the server: how to register its
    servicers, and what to release once the server has drained."""

    register: Callable[[grpc.aio.Server], None]
    close: Callable[[], None] = field(default=lambda: None)
    # Where the interceptor hands the audit record of each write or admin call (svc_kit.audit);
    # None: the service keeps no audit.
    audit: Callable | None = None


class ServiceServer:
    def __init__(self, settings: Settings, mounted: Mounted, metrics: GrpcServerMetrics | None = None):
        self.settings = settings
        self.mounted = mounted
        self.metrics = metrics or GrpcServerMetrics()
        if not getattr(settings, "instrumentation", True):  # MKT_INSTRUMENTATION=off
            from svc_kit.instrumentation import DisabledGrpcServerMetrics

            self.metrics = DisabledGrpcServerMetrics(self.metrics)
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self._metrics_http = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        s = self.settings
        configure_service(s.service.name, force=False)  # the `service` label of the mkt_* signals
        try:
            self._metrics_http = self.metrics.serve(s.bind_host, s.metrics_port, extra=PROCESS_REGISTRY)
        except OSError as error:
            raise StartupError(f"metrics port {s.bind_host}:{s.metrics_port}: {error.strerror}") from None
        server = grpc.aio.server(
            interceptors=[ServerInterceptor(self.metrics, self.mounted.audit)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.mounted.register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (s.service.grpc_service, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME),
            server,
        )
        try:
            self.port = server.add_insecure_port(f"{s.bind_host}:{s.grpc_port}")
        except RuntimeError:
            self.port = 0
        if not self.port:
            self._close_metrics()
            raise StartupError(f"gRPC port {s.bind_host}:{s.grpc_port} is in use or cannot be bound")
        await server.start()
        self.server = server
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(s.service.grpc_service, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "serving",
            extra={"grpc_address": f"{s.bind_host}:{self.port}", "metrics_address": f"{s.bind_host}:{s.metrics_port}"},
        )

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        await self._stop.wait()
        await self.stop()

    async def stop(self) -> None:
        """Stops accepting calls, lets in-flight calls finish within the grace
        period, then releases the service's resources."""
        if self.server is None:
            return
        server, self.server = self.server, None
        log.info("shutting down", extra={"grace_seconds": self.settings.shutdown_grace_seconds})
        await self.health.enter_graceful_shutdown()
        await server.stop(self.settings.shutdown_grace_seconds)
        self.mounted.close()
        self._close_metrics()
        log.info("stopped")

    def _close_metrics(self) -> None:
        if self._metrics_http is not None:
            http_server, thread = self._metrics_http
            http_server.shutdown()
            http_server.server_close()
            thread.join(timeout=2)
            self._metrics_http = None


async def serve_until_signalled(settings: Settings, mounted: Mounted) -> None:
    service = ServiceServer(settings, mounted)
    await service.start()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.request_stop)
    await service.wait()
