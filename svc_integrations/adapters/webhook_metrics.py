"""The delivery worker's signals as Prometheus metrics (service_layer.webhook_delivery.DeliverySignals)."""

from __future__ import annotations

from svc_kit.metrics import ServiceMetrics, service_metrics


class WebhookMetrics:
    def __init__(self, metrics: ServiceMetrics | None = None):
        self.metrics = metrics or service_metrics()

    def attempted(self, outcome: str, seconds: float) -> None:
        m = self.metrics
        m.webhook_attempts.labels(m.service, outcome).inc()
        m.webhook_attempt_seconds.labels(m.service).observe(seconds)

    def disabled(self) -> None:
        self.metrics.webhooks_disabled.labels(self.metrics.service).inc()
