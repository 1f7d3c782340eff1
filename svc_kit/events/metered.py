"""A bus consumer that reports what it settles (docs/observability.md "Metrics"):
mkt_consumer_messages_total by outcome (processed, duplicate, failed), the delay from each
message's publish time to its processing, and the subscription's lag (publish time of the
last processed message to now, read at scrape time; 0 once a receive finds nothing waiting)."""

from __future__ import annotations

import threading

from svc_kit.bus.port import Consumer, Message
from svc_kit.metrics import ServiceMetrics, seconds_since, service_metrics


class MeteredConsumer(Consumer):
    def __init__(self, consumer: Consumer, subscription: str, metrics: ServiceMetrics | None = None):
        self.inner = consumer
        self.subscription = subscription
        self.metrics = metrics or service_metrics()
        self._last = None  # publish time of the last processed message; None when idle
        self._lock = threading.Lock()
        self.metrics.consumer_lag.labels(self.metrics.service, subscription).set_function(self.lag)

    def lag(self) -> float:
        last = self._last
        return 0.0 if last is None else seconds_since(last)

    def receive(self, timeout: float) -> Message | None:
        message = self.inner.receive(timeout)
        if message is None:
            self._last = None  # caught up
        return message

    def ack(self, message: Message, outcome: str = "processed") -> None:
        self.inner.ack(message)
        m = self.metrics
        m.consumer_messages.labels(m.service, self.subscription, outcome).inc()
        if outcome == "processed":
            m.consumer_delay.labels(m.service, self.subscription).observe(seconds_since(message.publish_time))
            with self._lock:
                if self._last is None or message.publish_time > self._last:
                    self._last = message.publish_time

    def nack(self, message: Message) -> None:
        self.inner.nack(message)
        m = self.metrics
        m.consumer_messages.labels(m.service, self.subscription, "failed").inc()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name):  # adapter extras (the embedded bus's test helpers, say)
        return getattr(self.inner, name)


def metered(consumer: Consumer, subscription: str, metrics: ServiceMetrics | None = None) -> MeteredConsumer:
    return MeteredConsumer(consumer, subscription, metrics)
