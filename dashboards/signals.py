"""What each service exposes besides its gRPC metrics, and the PromQL of every panel.

Metric names are the platform's contract (docs/observability.md): every `mkt_*` series carries
`service` (the short service name); the `grpc_server_*` series are told apart by their scrape job
(`job="campaign"`). Grafana replaces `$__rate_interval`, `$method`, `$service` and `$datasource`."""

from __future__ import annotations

from dataclasses import dataclass, field

from slo.spec import BUDGET_PERIOD, WINDOWS, Slo

RATE = "$__rate_interval"
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One panel: kind is timeseries | stat | bargauge | table."""

    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Signals:
    outbox: bool = False
    consumers: bool = False
    extra: tuple[str, ...] = field(default=())  # "notify", "campaign", "analytics"


# Which service has an outbox (relay to the bus) and bus consumers; plus its own signals.
SERVICE_SIGNALS: dict[str, Signals] = {
    "campaign": Signals(outbox=True, consumers=True, extra=("campaign",)),
    "audience": Signals(outbox=True, consumers=True),
    "content": Signals(outbox=True, consumers=True),
    "analytics": Signals(outbox=True, consumers=True, extra=("analytics",)),
    "notify": Signals(outbox=True, consumers=True, extra=("notify",)),
    "integrations": Signals(consumers=True),
}


def quantiles(title: str, bucket: str, selector: str, by: str, unit: str = "s", description: str = "") -> Panel:
    group = f"{by}, le" if by else "le"
    prefix = "".join(f"{{{{{label.strip()}}}}} " for label in by.split(",")) if by else ""
    return Panel(title, tuple(
        Query(f"histogram_quantile({q}, sum by ({group}) (rate({bucket}{{{selector}}}[{RATE}])))",
              f"{prefix}p{int(q * 100)}") for q in QUANTILES), unit=unit, description=description)


def rpc_panels(service: str) -> list[Panel]:
    sel = f'job="{service}", grpc_method=~"$method"'  # grpc_* series: the service is the scrape job
    return [
        Panel("Requests per RPC", (Query(
            f"sum by (grpc_method) (rate(grpc_server_handled_total{{{sel}}}[{RATE}]))", "{{grpc_method}}"),),
            unit="reqps", description="RPCs completed per second, by method."),
        Panel("Errors per RPC and code", (Query(
            f'sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{{{sel}, grpc_code!="OK"}}[{RATE}]))',
            "{{grpc_method}} {{grpc_code}}"),),
            unit="reqps", description="RPCs answered with a status other than OK, per second, by method and code."),
        Panel("Error ratio per RPC", (Query(
            f'sum by (grpc_method) (rate(grpc_server_handled_total{{{sel}, grpc_code!="OK"}}[{RATE}]))'
            f" / sum by (grpc_method) (rate(grpc_server_handled_total{{{sel}}}[{RATE}]))", "{{grpc_method}}"),),
            unit="percentunit", min=0, description="Share of each RPC's calls that did not end OK."),
        quantiles("Latency per RPC (p50, p95, p99)", "grpc_server_handling_seconds_bucket", sel, "grpc_method",
                  description="Server-side handling time from the gRPC histogram."),
    ]


def outbox_panels(service: str) -> list[Panel]:
    sel = f'service="{service}"'
    return [
        Panel("Outbox backlog", (Query(f"sum(mkt_outbox_pending_events{{{sel}}})", "pending events"),),
              description="Events written to the outbox and not yet published to the bus."),
        Panel("Outbox oldest pending age", (Query(f"max(mkt_outbox_oldest_pending_age_seconds{{{sel}}})",
                                                  "oldest pending"),), unit="s",
              description="Age of the oldest unpublished outbox entry (0 when none): the relay's delay."),
        Panel("Outbox published per topic", (Query(
            f"sum by (topic) (rate(mkt_outbox_published_total{{{sel}}}[{RATE}]))", "{{topic}}"),), unit="ops",
            description="Events published from the outbox to the bus per second, by topic."),
    ]


def consumer_panels(service: str) -> list[Panel]:
    sel = f'service="{service}"'
    return [
        Panel("Consumer lag per subscription", (Query(
            f"max by (subscription) (mkt_consumer_lag_seconds{{{sel}}})", "{{subscription}}"),), unit="s",
            description="Publish time of the last processed message to now (0 when caught up and idle)."),
        Panel("Consumed messages per subscription and outcome", (Query(
            f"sum by (subscription, outcome) (rate(mkt_consumer_messages_total{{{sel}}}[{RATE}]))",
            "{{subscription}} {{outcome}}"),), unit="ops",
            description="Messages handled per second: processed, duplicate (already seen) or failed."),
        quantiles("Event delay per subscription (p50, p95, p99)", "mkt_consumer_event_delay_seconds_bucket", sel,
                  "subscription", description="Publish to processed, per subscription."),
    ]


def own_panels(kind: str, service: str) -> list[Panel]:
    sel = f'service="{service}"'
    if kind == "notify":
        return [
            Panel("Deliveries per channel, provider and outcome", (Query(
                f"sum by (channel, provider, outcome) (rate(mkt_notify_deliveries_total{{{sel}}}[{RATE}]))",
                "{{channel}} {{provider}} {{outcome}}"),), unit="ops",
                description="Delivery attempts per second by outcome (sent, deferred, failed, bounced, suppressed)."),
            quantiles("Hand-off latency per channel (p50, p95, p99)", "mkt_notify_handoff_seconds_bucket", sel,
                      "channel", description="Message accepted to handed to the provider."),
        ]
    if kind == "campaign":
        return [
            quantiles("Scheduler lateness per trigger (p50, p95, p99)", "mkt_campaign_start_lateness_seconds_bucket",
                      sel, "trigger", description="How late the scheduler fired each campaign start vs its plan."),
            Panel("Campaign starts per trigger and outcome", (Query(
                f"sum by (trigger, outcome) (increase(mkt_campaign_starts_total{{{sel}}}[{RATE}]))",
                "{{trigger}} {{outcome}}"),), unit="short",
                description="Campaign starts fired by the scheduler (ok or failed), per trigger."),
            quantiles("Journey timer lateness (p50, p95, p99)", "mkt_journey_timer_lateness_seconds_bucket", sel, "",
                      description="Due time of a journey entry (a wait's end, an event) to the pass that ran it."),
            Panel("Journey entries, exits and sends", (
                Query(f"sum by (outcome) (rate(mkt_journey_entries_total{{{sel}}}[{RATE}]))", "entries {{outcome}}"),
                Query(f"sum by (how) (rate(mkt_journey_exits_total{{{sel}}}[{RATE}]))", "exits {{how}}"),
                Query(f"sum by (outcome) (rate(mkt_journey_sends_total{{{sel}}}[{RATE}]))", "sends {{outcome}}")),
                unit="ops", description="Journey entries (entered, refused), exits (goal, exited) and send steps "
                                        "handed to notify (ok, refused, unavailable) per second."),
        ]
    if kind == "analytics":
        return [
            quantiles("Ingest lag (p50, p95, p99)", "mkt_analytics_ingest_lag_seconds_bucket", sel, "",
                      description="Event occurred or published to stored."),
            Panel("Event batches per outcome", (Query(
                f"sum by (outcome) (rate(mkt_analytics_batches_total{{{sel}}}[{RATE}]))", "{{outcome}}"),),
                unit="ops", description="Batches of events processed per second, ok or failed."),
        ]
    raise ValueError(f"unknown signal kind {kind!r}")


def slo_panels(slo: Slo) -> list[Panel]:
    sel = slo.selector
    name = slo.name
    return [
        Panel(f"{name}: SLI vs objective", (
            Query(f"1 - slo:sli_error:ratio_rate5m{{{sel}}}", "SLI (5m)"),
            Query(f"1 - slo:sli_error:ratio_rate1h{{{sel}}}", "SLI (1h)"),
            Query(f"1 - slo:sli_error:ratio_rate3d{{{sel}}}", "SLI (3d)"),
            Query(f"slo:objective:ratio{{{sel}}}", "objective"),
        ), unit="percentunit", width=10,
            description=f"Objective {slo.objective}%. {slo.description}"),
        Panel(f"{name}: error budget remaining", (Query(f"slo:error_budget_remaining:ratio{{{sel}}}",
                                                        "budget left"),),
              unit="percentunit", kind="stat", width=4,
              description=f"Share of the error budget not yet spent over {BUDGET_PERIOD} (1 - error ratio / budget)."),
        Panel(f"{name}: burn rate per window", tuple(
            Query(f"slo:sli_error:ratio_rate{w}{{{sel}}} / on (slo_service, slo_name) slo:error_budget:ratio{{{sel}}}",
                  w) for w in WINDOWS), unit="x", width=10,
              description="Error ratio over each window divided by the budget (1 - objective): "
                          "1 spends the budget exactly over its period; pages at 14.4 (1h & 5m) and 6 (6h & 30m)."),
    ]


def overview_panels() -> list[Panel]:
    sel = 'slo_service=~"$service"'
    legend = "{{slo_service}} {{slo_name}}"
    return [
        Panel("SLI over 3 days", (Query(f"1 - slo:sli_error:ratio_rate3d{{{sel}}}", legend),),
              unit="percentunit", kind="stat", width=8),
        Panel("Objective", (Query(f"slo:objective:ratio{{{sel}}}", legend),), unit="percentunit", kind="stat",
              width=8),
        Panel("Error budget remaining", (Query(f"slo:error_budget_remaining:ratio{{{sel}}}", legend),),
              unit="percentunit", kind="bargauge", width=8, max=1),
        Panel("Burn rate per window", tuple(
            Query(f"slo:sli_error:ratio_rate{w}{{{sel}}} / on (slo_service, slo_name) slo:error_budget:ratio{{{sel}}}",
                  f"{legend} {w}") for w in WINDOWS), unit="x", kind="table", width=24, height=10,
              description="Instant burn rate of every SLO over each window (1 = budget spent exactly on time)."),
        Panel("SLI (1h) against objective", (
            Query(f"1 - slo:sli_error:ratio_rate1h{{{sel}}}", legend),
            Query(f"slo:objective:ratio{{{sel}}}", f"{legend} objective"),
        ), unit="percentunit", width=24),
    ]
