"""The dispatcher's DeliveryTracing with OpenTelemetry: a span (`deliver message`, `render messages`) whose
parent is the traceparent the message was accepted with, current while the work runs, so the calls it
makes (content's render, a provider's HTTP API with a `traceparent` header) continue that trace."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from opentelemetry import propagate, trace

_tracer = trace.get_tracer("svc_notify.dispatcher")


class OtelDeliveryTracing:
    async def traced(self, trace_context: str, name: str, work: Awaitable[Any]) -> Any:
        parent = propagate.extract({"traceparent": trace_context})
        with _tracer.start_as_current_span(name, context=parent):
            return await work
