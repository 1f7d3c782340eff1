"""The dispatcher's delivery signals as Prometheus metrics (service_layer.ports.DeliverySignals)."""

from __future__ import annotations

from svc_kit.metrics import ServiceMetrics, service_metrics


class DeliveryMetrics:
    def __init__(self, metrics: ServiceMetrics | None = None):
        self.metrics = metrics or service_metrics()

    def settled(self, channel: str, provider: str, outcome: str, handoff_seconds: float | None) -> None:
        m = self.metrics
        m.notify_deliveries.labels(m.service, channel, provider, outcome).inc()
        if handoff_seconds is not None:
            m.notify_handoff.labels(m.service, channel).observe(handoff_seconds)
