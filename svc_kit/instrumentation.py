"""MKT_INSTRUMENTATION=off: a service records no gRPC server metrics and no spans at all (no tracer
provider is installed, so spans are the API's no-op ones and no trace context is made or passed on).
Meant for measuring what instrumentation costs (bench/instrumentation.py) and for ruling it out when
hunting a problem; /metrics still answers, with the process's own collectors only."""

from __future__ import annotations

from svc_kit.metrics import GrpcServerMetrics


class _NullChild:
    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


class _NullMetric:
    _child = _NullChild()

    def labels(self, *labels, **named) -> _NullChild:
        return self._child


class DisabledGrpcServerMetrics:
    """What the server interceptor records into when instrumentation is off: nothing. Serves the
    process collectors of `real` on the metrics port all the same."""

    def __init__(self, real: GrpcServerMetrics | None = None):
        self.real = real or GrpcServerMetrics()
        self.registry = self.real.registry
        self.started = self.handled = self.handling_seconds = _NullMetric()

    def serve(self, host: str, port: int, extra=None):
        return self.real.serve(host, port, extra=extra)

    def __getattr__(self, name: str):  # any other recorder a newer interceptor asks for: a no-op too
        return _NullMetric()
