"""Prometheus metrics with the conventional gRPC server names
(as go-grpc-prometheus and py-grpc-prometheus publish them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client import gc_collector, platform_collector, process_collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GrpcServerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            (*labels, "grpc_code"),
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency of RPCs handled by the server.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def serve(self, host: str, port: int):
        """Serves /metrics on a background thread; returns (server, thread)."""
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        return start_http_server(port, addr=host, registry=self.registry)
