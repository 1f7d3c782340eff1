"""The scheduler's signals as Prometheus metrics (service_layer.ports.SchedulerSignals)."""

from __future__ import annotations

from svc_kit.metrics import ServiceMetrics, service_metrics


class SchedulerMetrics:
    def __init__(self, metrics: ServiceMetrics | None = None):
        self.metrics = metrics or service_metrics()

    def campaign_start(self, trigger: str, outcome: str, lateness_seconds: float | None) -> None:
        m = self.metrics
        m.campaign_starts.labels(m.service, trigger, outcome).inc()
        if lateness_seconds is not None:
            m.campaign_lateness.labels(m.service, trigger).observe(lateness_seconds)
