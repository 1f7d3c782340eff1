"""OpenTelemetry tracing: OTLP export when an endpoint is configured, and W3C
trace context carried in gRPC metadata on incoming and outgoing calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

from svc_kit.trace_context import current_trace_headers, extract_context  # noqa: F401 - older import path

_provider: TracerProvider | None = None
_exporters: list[BatchSpanProcessor] = []


class _Sampler(ParentBased):
    """Records nothing while no exporter is configured: spans still get ids
    (so logs carry trace and span ids, and the context propagates), but cost
    almost nothing. With an exporter, follows the caller's sampling decision."""

    def __init__(self) -> None:
        super().__init__(TraceIdRatioBased(1.0))
        self.exporting = False

    def set_ratio(self, ratio: float) -> None:
        """The share of new traces (no sampled parent) recorded: MKT_TRACE_SAMPLE_RATIO."""
        self._root = TraceIdRatioBased(ratio)

    def should_sample(self, *args, **kwargs):
        if not self.exporting:
            return ALWAYS_OFF.should_sample(*args, **kwargs)
        return super().should_sample(*args, **kwargs)


_sampler = _Sampler()


def configure_tracing(service: str, otlp_endpoint: str | None, sample_ratio: float = 1.0) -> TracerProvider:
    """One provider per process; spans are recorded and exported only when
    `otlp_endpoint` is set; of the traces this process starts, `sample_ratio` are."""
    global _provider
    _sampler.set_ratio(sample_ratio)
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": f"marketing-{service}"}),
                                   sampler=_sampler)
        trace.set_tracer_provider(_provider)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        insecure = otlp_endpoint.startswith("http://")
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=insecure))
        _provider.add_span_processor(processor)
        _exporters.append(processor)
        _sampler.exporting = True
    return _provider


def add_span_processor(processor) -> None:
    """Records spans into `processor` as well (tests use an in-memory exporter)."""
    if _provider is None:
        raise RuntimeError("configure_tracing first")
    _provider.add_span_processor(processor)
    _sampler.exporting = True


def shutdown_tracing() -> None:
    """Flushes and closes the exporters."""
    while _exporters:
        _exporters.pop().shutdown()
    _sampler.exporting = False


class _ClientCallDetails(grpc.aio.ClientCallDetails):
    pass


class TraceContextClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Starts a client span and injects `traceparent` into outgoing metadata."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer("svc_kit.grpc.client")

    async def _call(self, continuation, details, request):
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        with self.tracer.start_as_current_span(method.lstrip("/"), kind=trace.SpanKind.CLIENT):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            metadata = list(details.metadata or []) + list(carrier.items())
            new_details = _ClientCallDetails(details.method, details.timeout, metadata, details.credentials,
                                             details.wait_for_ready)
            return await continuation(new_details, request)

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        return await self._call(continuation, client_call_details, request)

    async def intercept_unary_stream(self, continuation, client_call_details, request):
        return await self._call(continuation, client_call_details, request)


def traced_channel(target: str, options: Sequence[tuple[str, Any]] = ()) -> grpc.aio.Channel:
    """A plaintext channel for service-to-service calls: the mesh adds mTLS,
    retries and circuit breaking, so the client stays plain. `options` are gRPC
    channel arguments (for example a shorter reconnect backoff)."""
    return grpc.aio.insecure_channel(target, options=list(options), interceptors=[TraceContextClientInterceptor()])
