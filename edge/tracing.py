"""Envoy's OpenTelemetry tracer for the edge and the mesh's sidecars: each exports its spans over OTLP gRPC
to the collector named by OTEL_EXPORTER_OTLP_ENDPOINT (the one the services export to; a cluster of its
own in each Envoy), keeps an incoming W3C `traceparent` (its span becomes the caller's child) and passes
its own span's context upstream. Nothing is added when no endpoint is configured."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

OTLP_CLUSTER = "otlp_collector"


def _any(type_name: str, **fields) -> dict:
    return {"@type": f"type.googleapis.com/{type_name}", **fields}


def collector_address(endpoint: str) -> tuple[str, int]:
    """host and port of an OTLP gRPC endpoint such as http://127.0.0.1:4317 (4317 when none is given)."""
    url = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not url.hostname:
        raise ValueError(f"OTLP endpoint {endpoint!r} names no host")
    return url.hostname, url.port or 4317


def otlp_cluster(endpoint: str) -> dict:
    """The cluster the tracer exports to (HTTP/2, plaintext; a name is resolved by DNS)."""
    host, port = collector_address(endpoint)
    try:
        ipaddress.ip_address(host)
        kind = "STATIC"
    except ValueError:
        kind = "STRICT_DNS"
    return {
        "name": OTLP_CLUSTER, "type": kind, "connect_timeout": "1s",
        "load_assignment": {"cluster_name": OTLP_CLUSTER, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": host, "port_value": port}}}}]}]},
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _any(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            explicit_http_config={"http2_protocol_options": {}})},
    }


def manager_tracing(service_name: str) -> dict:
    """The `tracing` field of an HttpConnectionManager: every request traced (the services sample by their
    caller's decision), spans sent to OTLP_CLUSTER under `service_name`."""
    return {
        "random_sampling": {"value": 100.0},
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": _any(
            "envoy.config.trace.v3.OpenTelemetryConfig",
            grpc_service={"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
            service_name=service_name)},
    }
