"""The W3C trace context of the current span, as headers: for events a service
layer stores and messages it sends. No transport here (svc_kit.tracing holds the
gRPC side)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

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


@contextlib.contextmanager
def message_context(properties: Mapping[str, str]) -> Iterator[None]:
    """The trace context a message's properties carry (its producer's span) as the current one, without
    a span of its own: lines logged about the message outside its consumer span (a failure, a batch
    step) carry its trace_id and span_id."""
    token = otel_context.attach(extract_context(list(properties.items())))
    try:
        yield
    finally:
        otel_context.detach(token)
