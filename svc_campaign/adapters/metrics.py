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


class JourneyMetrics:
    """The journeys' signals (service_layer.journeys.JourneySignals) as Prometheus metrics."""

    def __init__(self, metrics: ServiceMetrics | None = None):
        self.metrics = metrics or service_metrics()

    def entered(self, count: int) -> None:
        if count:
            self.metrics.journey_entries.labels(self.metrics.service, "entered").inc(count)

    def refused(self, count: int) -> None:
        if count:
            self.metrics.journey_entries.labels(self.metrics.service, "refused").inc(count)

    def ended(self, how: str, count: int) -> None:
        if count:
            self.metrics.journey_exits.labels(self.metrics.service, how).inc(count)

    def sends(self, outcome: str, count: int) -> None:
        if count:
            self.metrics.journey_sends.labels(self.metrics.service, outcome).inc(count)

    def timer_lag(self, seconds: float) -> None:
        self.metrics.journey_timer_lateness.labels(self.metrics.service).observe(seconds)

    def evaluated(self, count: int) -> None:
        pass
