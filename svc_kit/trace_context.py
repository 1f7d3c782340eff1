"""The W3C trace context of the current span, as headers: for events a service
layer stores and messages it sends. No transport here (svc_kit.tracing holds the
gRPC side)."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate


def current_trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, for messages and stored events."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(metadata: Sequence[tuple[str, str | bytes]] | None) -> otel_context.Context:
    carrier = {key: value for key, value in (metadata or ()) if isinstance(value, str)}
    return propagate.extract(carrier)
