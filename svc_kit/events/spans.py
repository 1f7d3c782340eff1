"""The bus hop of a trace: a PRODUCER span when the outbox relay publishes an entry (a child of the
trace context the entry was written in, its `traceparent` property), whose own context replaces the
entry's in the message properties; a CONSUMER span around each consumer's handling of a message (a
child of that producer span). So a call that writes an event and the consumers that act on it are one
trace: server span -> `<topic> publish` -> `<topic> process` -> whatever the consumer calls or writes.

Spans are recorded and exported only when tracing exports (svc_kit.tracing); otherwise they are
non-recording and cost next to nothing, but the ids still propagate."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.trace import Span

from svc_kit.bus.port import Message
from svc_kit.trace_context import current_trace_headers

_producer = trace.get_tracer("svc_kit.events.producer")
_consumer = trace.get_tracer("svc_kit.events.consumer")
TRACE_KEYS = ("traceparent", "tracestate")


def _short(topic: str) -> str:
    return topic.rsplit("/", 1)[-1]


def with_current_trace(properties: Mapping[str, str]) -> dict[str, str]:
    """An outbox entry's properties with the caller's trace context (`traceparent`, `tracestate`), unless
    the entry carries one already: what every outbox writes, so every event continues its cause's trace."""
    merged = dict(properties)
    if not merged.get("traceparent"):
        for key, value in current_trace_headers().items():
            merged.setdefault(key, value)
    return {k: v for k, v in merged.items() if v is not None}


def publish_span(topic: str, properties: Mapping[str, str]) -> tuple[Span, dict[str, str]]:
    """A started PRODUCER span for one message to `topic`, the child of the context in `properties`
    (a new trace when there is none), and the properties carrying the span's own context. The caller
    ends the span once the message is sent."""
    parent = propagate.extract({k: v for k, v in properties.items() if k in TRACE_KEYS and isinstance(v, str)})
    span = _producer.start_span(f"{_short(topic)} publish", context=parent, kind=trace.SpanKind.PRODUCER,
                                attributes={"messaging.system": "pulsar", "messaging.destination.name": topic,
                                            "messaging.operation": "publish"})
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    sent = {k: v for k, v in properties.items() if k not in TRACE_KEYS}
    sent.update(carrier)
    return span, sent


def consume_span(topic: str, subscription: str, message: Message):
    """The CONSUMER span (a context manager, current inside) around the handling of one message: the child
    of the producer span in its properties."""
    carrier = {k: v for k, v in (message.properties or {}).items() if isinstance(v, str)}
    return _consumer.start_as_current_span(
        f"{_short(topic)} process", context=propagate.extract(carrier), kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.system": "pulsar", "messaging.destination.name": topic,
                    "messaging.operation": "process", "messaging.message.id": str(message.message_id),
                    "messaging.consumer.group.name": subscription})
