"""A campaign's report, assembled from the store's metric rows (one per event
type, channel, variant and provider of the campaign, counted over distinct
event ids).

Opened, clicked and converted are distinct HUMAN profiles; total_opens and
total_clicks all human events; machine_opens and machine_clicks the events
flagged as a machine's. Rates are over delivered (opens, clicks, conversions,
unsubscribes, complaints) or sent (delivery, bounce), and 0 when the
denominator is 0. Distinct profiles are counted per row, so a figure summed
over rows (the totals, a channel) counts a profile once per channel, variant
or provider it appears under. Money is kept per currency in micros: revenue is
the value of goal events credited to the campaign, spend the cost of its sends
(message_sent events carry it as their value)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svc_kit.channels import Channel

from svc_analytics.domain import significance
from svc_analytics.domain.model import (BOUNCED, CLICKED, COMPLAINED, DELIVERED, FAILED, OPENED, SENT, SUPPRESSED,
                                        UNSUBSCRIBED, MetricRow)

CONTROL = "control"
METRIC_CONVERSIONS = "conversion_rate"
METRIC_CLICKS = "click_rate"


def rate(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True)
class Metrics:
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    unsubscribed: int = 0
    complained: int = 0
    total_opens: int = 0
    total_clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0
    revenue_micros: dict[str, int] = field(default_factory=dict)
    spend_micros: dict[str, int] = field(default_factory=dict)

    @property
    def delivery_rate(self) -> float:
        return rate(self.delivered, self.sent)

    @property
    def bounce_rate(self) -> float:
        return rate(self.bounced, self.sent)

    @property
    def open_rate(self) -> float:
        return rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float:
        return rate(self.clicked, self.delivered)

    @property
    def click_to_open_rate(self) -> float:
        return rate(self.clicked, self.opened)

    @property
    def conversion_rate(self) -> float:
        return rate(self.converted, self.delivered)

    @property
    def unsubscribe_rate(self) -> float:
        return rate(self.unsubscribed, self.delivered)

    @property
    def complaint_rate(self) -> float:
        return rate(self.complained, self.delivered)

    @property
    def cost_per_conversion_micros(self) -> dict[str, int]:
        """Spend per conversion, per currency of the spend (rounded to the micro); empty without conversions."""
        if not self.converted:
            return {}
        return {currency: round(amount / self.converted) for currency, amount in sorted(self.spend_micros.items())}

    @classmethod
    def from_rows(cls, rows: Iterable[MetricRow], goal_type: str) -> Metrics:
        events: dict[str, int] = defaultdict(int)
        human_events: dict[str, int] = defaultdict(int)
        human_profiles: dict[str, int] = defaultdict(int)
        revenue: dict[str, int] = defaultdict(int)
        spend: dict[str, int] = defaultdict(int)
        for row in rows:
            events[row.type] += row.events
            human_events[row.type] += row.human_events
            human_profiles[row.type] += row.human_profiles
            if row.type == goal_type:
                _add(revenue, row.revenue_micros)
            elif row.type == SENT:
                _add(spend, row.revenue_micros)
        return cls(
            sent=events[SENT], delivered=events[DELIVERED], bounced=events[BOUNCED], failed=events[FAILED],
            suppressed=events[SUPPRESSED], opened=human_profiles[OPENED], clicked=human_profiles[CLICKED],
            converted=human_profiles[goal_type], unsubscribed=human_profiles[UNSUBSCRIBED],
            complained=human_profiles[COMPLAINED], total_opens=human_events[OPENED],
            total_clicks=human_events[CLICKED], machine_opens=events[OPENED] - human_events[OPENED],
            machine_clicks=events[CLICKED] - human_events[CLICKED],
            revenue_micros=dict(sorted(revenue.items())), spend_micros=dict(sorted(spend.items())))


def _add(into: dict[str, int], amounts: dict[str, int]) -> None:
    for currency, amount in amounts.items():
        into[currency] += amount


@dataclass(frozen=True)
class ChannelMetrics:
    channel: Channel
    metrics: Metrics


@dataclass(frozen=True)
class VariantMetrics:
    channel: Channel | None
    variant: str
    metrics: Metrics


@dataclass(frozen=True)
class ProviderMetrics:
    provider: str
    metrics: Metrics


@dataclass(frozen=True)
class VariantComparison:
    """One variant against its channel's control, on the goal metric per delivered message."""

    channel: Channel | None
    variant: str
    control: str
    metric: str  # "conversion_rate" or "click_rate"
    rate: float
    control_rate: float
    difference: float  # rate - control_rate
    p_value: float  # two-sided, two-proportion z-test
    significant: bool  # p < 0.05 and enough_sample
    enough_sample: bool  # each arm has at least significance.MIN_SAMPLE delivered


@dataclass(frozen=True)
class CampaignReport:
    workspace: str
    campaign: str  # bare campaign id
    totals: Metrics
    channels: list[ChannelMetrics]
    variants: list[VariantMetrics]
    providers: list[ProviderMetrics]
    start: datetime | None
    end: datetime | None
    attribution_window: timedelta
    goal_type: str
    comparisons: list[VariantComparison]
    update_time: datetime


def _channel_key(channel: Channel | None) -> str:
    return channel.value if channel is not None else ""


def _grouped(rows: list[MetricRow], key: Callable[[MetricRow], object]) -> dict:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


def compare_variants(variants: list[VariantMetrics], metric: str,
                     minimum: int = significance.MIN_SAMPLE) -> list[VariantComparison]:
    """Per channel: every variant against the control ("control", else the first variant by name)."""
    out = []
    for channel, arms in _grouped(variants, lambda v: v.channel).items():  # type: ignore[arg-type]
        arms = sorted(arms, key=lambda v: v.variant)
        if len(arms) < 2:
            continue
        control = next((v for v in arms if v.variant == CONTROL), arms[0])

        def successes(m: Metrics) -> int:
            return m.converted if metric == METRIC_CONVERSIONS else m.clicked

        for arm in arms:
            if arm is control:
                continue
            n, x = arm.metrics.delivered, successes(arm.metrics)
            cn, cx = control.metrics.delivered, successes(control.metrics)
            test = significance.two_proportion_z_test(x, n, cx, cn)
            out.append(VariantComparison(
                channel, arm.variant, control.variant, metric, rate(x, n), rate(cx, cn), rate(x, n) - rate(cx, cn),
                test.p_value, significance.significant(test, n, cn, minimum),
                significance.enough_sample(n, cn, minimum)))
    return out


def build_report(workspace: str, campaign: str, rows: list[MetricRow], *, start: datetime | None,
                 end: datetime | None, attribution_window: timedelta, goal_type: str, update_time: datetime,
                 minimum_sample: int = significance.MIN_SAMPLE) -> CampaignReport:
    totals = Metrics.from_rows(rows, goal_type)
    channels = [ChannelMetrics(channel, Metrics.from_rows(group, goal_type))
                for channel, group in sorted(_grouped([r for r in rows if r.channel is not None],
                                                      lambda r: r.channel).items(),
                                             key=lambda item: item[0].value)]
    variants = [VariantMetrics(channel, variant, Metrics.from_rows(group, goal_type))
                for (channel, variant), group in sorted(
                    _grouped([r for r in rows if r.variant], lambda r: (r.channel, r.variant)).items(),
                    key=lambda item: (_channel_key(item[0][0]), item[0][1]))]
    providers = [ProviderMetrics(provider, Metrics.from_rows(group, goal_type))
                 for provider, group in sorted(_grouped([r for r in rows if r.provider],
                                                        lambda r: r.provider).items())]
    metric = METRIC_CONVERSIONS if totals.converted else METRIC_CLICKS
    return CampaignReport(workspace, campaign, totals, channels, variants, providers, start, end,
                          attribution_window, goal_type, compare_variants(variants, metric, minimum_sample),
                          update_time)
