"""Synthetic metric series for promtool rule tests: for each SLO, how its good and bad events show in the
metrics the services publish (names and labels as svc_kit/metrics.py writes them, bucket bounds formatted
as prometheus_client formats them), so a scenario can say "this many good and bad events per step" and
get promtool `input_series`.

A new SLO needs a model here: tests/slo/test_rules.py fails, naming the SLO, until it has one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client.utils import floatToGoString

import svc_kit.metrics as metrics

# Bucket bounds of the histograms the SLOs read (svc_kit/metrics.py; the fallbacks are the values
# agreed for issue 15 until the metrics land on this branch).
LATENCY_BUCKETS = metrics.LATENCY_BUCKETS
DELAY_BUCKETS = getattr(metrics, "DELAY_BUCKETS",
                        (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
LATENESS_BUCKETS = getattr(metrics, "LATENESS_BUCKETS", (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600))

SERVER_ERROR = "UNAVAILABLE"  # one of the codes the availability SLOs count
Series = dict[str, list[float]]  # promtool series selector -> cumulative value per step
Model = Callable[[Sequence[float], Sequence[float] | None], Series]


def cumulative(increments: Sequence[float]) -> list[float]:
    """A counter's samples: 0 at the first step, then the running sum of the later steps' increments."""
    values, total = [0.0], 0.0
    for value in increments[1:]:
        total += value
        values.append(total)
    return values


def _selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def counter(name: str, labels: dict[str, str], increments: Sequence[float]) -> Series:
    return {_selector(name, labels): cumulative(increments)}


def histogram(name: str, labels: dict[str, str], buckets: Sequence[float],
              observations: Sequence[tuple[float, Sequence[float]]]) -> Series:
    """Bucket, count and sum series of a histogram that got, per step, `increments` observations of each
    `value`."""
    steps = len(observations[0][1])
    series: Series = {}
    for bound in (*buckets, float("inf")):
        per_step = [sum(counts[i] for value, counts in observations if value <= bound) for i in range(steps)]
        series |= counter(f"{name}_bucket", {**labels, "le": floatToGoString(bound)}, per_step)
    series |= counter(f"{name}_count", labels, [sum(c[i] for _, c in observations) for i in range(steps)])
    series |= counter(f"{name}_sum", labels, [sum(v * c[i] for v, c in observations) for i in range(steps)])
    return series


def _split(values: Sequence[float], share: float) -> tuple[list[float], list[float]]:
    return [v * share for v in values], [v * (1 - share) for v in values]


def grpc_availability(grpc_service: str, methods: Sequence[str], noise_method: str | None = None) -> Model:
    """Good calls: OK, and one in ten INVALID_ARGUMENT (a client's error, not counted); bad calls: a server
    error. `noise_method`, outside the SLO, fails with INTERNAL all the time: it must not count."""

    def model(good, bad):
        series: Series = {}
        for method in methods:
            base = {"grpc_type": "unary", "grpc_service": grpc_service, "grpc_method": method}
            share = 1 / len(methods)
            ok, client_error = _split([g * share for g in good], 0.9)
            series |= counter("grpc_server_handled_total", {**base, "grpc_code": "OK"}, ok)
            series |= counter("grpc_server_handled_total", {**base, "grpc_code": "INVALID_ARGUMENT"}, client_error)
            if bad is not None:
                series |= counter("grpc_server_handled_total", {**base, "grpc_code": SERVER_ERROR},
                                  [b * share for b in bad])
        if noise_method:
            base = {"grpc_type": "unary", "grpc_service": grpc_service, "grpc_method": noise_method}
            series |= counter("grpc_server_handled_total", {**base, "grpc_code": "INTERNAL"}, [100.0] * len(good))
        return series

    return model


def grpc_latency(grpc_service: str, methods: Sequence[str], fast: float, slow: float) -> Model:
    """Good calls take `fast` seconds, bad ones `slow`."""

    def model(good, bad):
        series: Series = {}
        share = 1 / len(methods)
        for method in methods:
            labels = {"grpc_type": "unary", "grpc_service": grpc_service, "grpc_method": method}
            observations = [(fast, [g * share for g in good])]
            if bad is not None:
                observations.append((slow, [b * share for b in bad]))
            series |= histogram("grpc_server_handling_seconds", labels, LATENCY_BUCKETS, observations)
        return series

    return model


def campaign_scheduling(good, bad):
    """Good starts: ok, 1 s late. Bad: half failed (no lateness observed), half ok but 300 s late."""
    labels = {"service": "campaign", "trigger": "schedule"}
    failed, late = _split(bad, 0.5) if bad is not None else ([0.0] * len(good), None)
    ok = [g + (late[i] if late else 0.0) for i, g in enumerate(good)]
    series = counter("mkt_campaign_starts_total", {**labels, "outcome": "ok"}, ok)
    if bad is not None:
        series |= counter("mkt_campaign_starts_total", {**labels, "outcome": "failed"}, failed)
    observations = [(1.0, list(good))] + ([(300.0, late)] if late else [])
    series |= histogram("mkt_campaign_start_lateness_seconds", labels, LATENESS_BUCKETS, observations)
    return series


def journey_timers(good, bad):
    """Good passes run 0.1 s after their due time, bad ones 30 s after."""
    observations = [(0.1, list(good))] + ([(30.0, list(bad))] if bad is not None else [])
    return histogram("mkt_journey_timer_lateness_seconds", {"service": "campaign"}, DELAY_BUCKETS, observations)


def analytics_batches(good, bad):
    series = counter("mkt_analytics_batches_total", {"service": "analytics", "outcome": "ok"}, good)
    if bad is not None:
        series |= counter("mkt_analytics_batches_total", {"service": "analytics", "outcome": "failed"}, bad)
    return series


def notify_handoff(good, bad):
    """Good messages reach the provider in 2 s, bad ones in 30 minutes."""
    observations = [(2.0, list(good))] + ([(1800.0, list(bad))] if bad is not None else [])
    return histogram("mkt_notify_handoff_seconds", {"service": "notify", "channel": "email"}, DELAY_BUCKETS,
                     observations)


SEGMENT_READS = ("GetSegment", "ListSegments", "CountSegmentMembers", "CheckSegmentMembership",
                 "ListSegmentMembers", "StreamSegmentMembers", "GetSegmentSnapshot", "ListSegmentSnapshots")

MODELS: dict[str, Model] = {
    "campaign-scheduling": campaign_scheduling,
    "journey-timers": journey_timers,
    "campaign-api-availability": grpc_availability(
        "marketing.campaign.v1.CampaignService", ("GetCampaign", "StartCampaign")),
    "audience-segment-reads": grpc_availability(
        "marketing.audience.v1.AudienceService", SEGMENT_READS, noise_method="UpdateProfile"),
    "content-render-latency": grpc_latency(
        "marketing.content.v1.ContentService", ("RenderTemplate", "BatchRenderTemplate"), fast=0.01, slow=1.0),
    "notify-handoff-latency": notify_handoff,
    "analytics-batch-processing": analytics_batches,
    "integrations-key-check-availability": grpc_availability("envoy.service.auth.v3.Authorization", ("Check",)),
}
