"""Protobuf <-> the analytics domain: ingested events to DraftEvents (resource names cut to bare
ids), stored events and campaign reports to the API's messages."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2
from google.type import interval_pb2, money_pb2

from marketing.analytics.v1 import campaign_report_pb2 as report_pb2
from marketing.analytics.v1 import event_pb2, funnel_pb2
from marketing.common.v1 import attribute_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.proto_enums import channel_from_proto, channel_to_proto

from svc_analytics.domain.ingest import DraftEvent
from svc_analytics.domain.funnel import Funnel, FunnelFields, FunnelStep, StepResult
from svc_analytics.domain.model import AggregateRow, StoredEvent
from svc_analytics.domain.report import CampaignReport, Metrics

TEST_NOTE = "two-proportion z-test, two-sided p-value; significant when p < 0.05 with enough sample in each arm"
_METRIC = {"conversions": "conversion_rate", "clicks": "click_rate"}


# -- names --------------------------------------------------------------------------------------------


def bare_id(value: str, workspace: str, collection: str) -> str:
    """`workspaces/{workspace}/{collection}/{id}` -> id. Anything else is passed on as it is, for the
    domain's check to refuse as malformed (a name of another workspace included)."""
    prefix = f"workspaces/{workspace}/{collection}/"
    return value[len(prefix):] if value.startswith(prefix) and value.count("/") == 3 else value


def name_of(workspace: str, collection: str, resource_id: str) -> str:
    return f"workspaces/{workspace}/{collection}/{resource_id}" if resource_id else ""


def report_name(value: str, field: str = "name") -> tuple[str, str]:
    """(workspace, campaign id) of `workspaces/{w}/campaigns/{c}/report`."""
    parts = value.split("/")
    if len(parts) != 5 or parts[0] != "workspaces" or parts[2] != "campaigns" or parts[4] != "report" \
            or not parts[1] or not parts[3]:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/campaigns/"
                                                    "{campaign}/report`"))
    return parts[1], parts[3]


def event_name(value: str, field: str = "name") -> tuple[str, str]:
    """(workspace, event id) of `workspaces/{w}/events/{event}`."""
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "events" or not parts[1] or not parts[3]:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/events/{{event}}`"))
    return parts[1], parts[3]


# -- values -------------------------------------------------------------------------------------------


def instant(stamp: timestamp_pb2.Timestamp, field: str) -> datetime:
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(FieldViolation(field, "is not a valid timestamp")) from None


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def interval(message: interval_pb2.Interval, field: str = "interval") -> tuple[datetime | None, datetime | None]:
    start = instant(message.start_time, f"{field}.start_time") if message.HasField("start_time") else None
    end = instant(message.end_time, f"{field}.end_time") if message.HasField("end_time") else None
    return start, end


def interval_to_proto(start: datetime | None, end: datetime | None) -> interval_pb2.Interval:
    return interval_pb2.Interval(start_time=timestamp(start), end_time=timestamp(end))


def micros_of(money: money_pb2.Money) -> int:
    return money.units * 1_000_000 + int(money.nanos / 1000)


def money(micros: int, currency: str) -> money_pb2.Money:
    sign = -1 if micros < 0 else 1
    units, rest = divmod(abs(micros), 1_000_000)
    return money_pb2.Money(currency_code=currency, units=sign * units, nanos=sign * rest * 1000)


def amounts(by_currency: dict[str, int]) -> list[money_pb2.Money]:
    return [money(micros, currency) for currency, micros in sorted(by_currency.items())]


def property_value(attribute: attribute_pb2.Attribute) -> Any:
    kind = attribute.WhichOneof("value")
    if kind == "timestamp_value":
        return attribute.timestamp_value.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    if kind == "string_list_value":
        return list(attribute.string_list_value.values)
    if kind == "double_value" and not math.isfinite(attribute.double_value):
        return str(attribute.double_value)  # JSON has no NaN: kept as text
    return getattr(attribute, kind) if kind else None


def attribute(key: str, value: Any) -> attribute_pb2.Attribute:
    if isinstance(value, bool):
        return attribute_pb2.Attribute(key=key, bool_value=value)
    if isinstance(value, int):
        return attribute_pb2.Attribute(key=key, int_value=value)
    if isinstance(value, float):
        return attribute_pb2.Attribute(key=key, double_value=value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return attribute_pb2.Attribute(key=key, string_list_value=attribute_pb2.StringList(values=value))
    if isinstance(value, str):
        return attribute_pb2.Attribute(key=key, string_value=value)
    return attribute_pb2.Attribute(key=key, string_value=json.dumps(value, separators=(",", ":")))


def _channel(channel) -> int:
    return channel_to_proto(channel) if channel is not None else 0


# -- events -------------------------------------------------------------------------------------------


def draft_from_proto(workspace: str, e: event_pb2.Event) -> DraftEvent:
    return DraftEvent(
        event_id=e.event_id, type=e.type,
        event_time=e.event_time.ToDatetime(tzinfo=UTC) if e.HasField("event_time") and _valid(e.event_time) else None,
        profile=bare_id(e.profile, workspace, "profiles"), campaign=bare_id(e.campaign, workspace, "campaigns"),
        channel=channel_from_proto(e.channel), message=bare_id(e.message, workspace, "messages"),
        variant=e.variant, properties={a.key: property_value(a) for a in e.properties},
        value_micros=micros_of(e.value) if e.HasField("value") else 0,
        currency=e.value.currency_code if e.HasField("value") else "", source=e.source)


def _valid(stamp: timestamp_pb2.Timestamp) -> bool:
    try:
        stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        return False
    return True


def event_to_proto(e: StoredEvent) -> event_pb2.Event:
    out = event_pb2.Event(
        name=name_of(e.workspace, "events", e.event_id), event_id=e.event_id, type=e.type,
        profile=name_of(e.workspace, "profiles", e.profile), campaign=name_of(e.workspace, "campaigns", e.campaign),
        channel=_channel(e.channel), message=name_of(e.workspace, "messages", e.message), variant=e.variant,
        properties=[attribute(k, v) for k, v in e.properties.items()], event_time=timestamp(e.event_time),
        receive_time=timestamp(e.receive_time), source=e.source)
    if e.currency:
        out.value.CopyFrom(money(e.value_micros, e.currency))
    return out


# -- reports ------------------------------------------------------------------------------------------


def metrics_to_proto(m: Metrics) -> report_pb2.ReportMetrics:
    return report_pb2.ReportMetrics(
        sent=m.sent, delivered=m.delivered, bounced=m.bounced, failed=m.failed, suppressed=m.suppressed,
        opened=m.opened, clicked=m.clicked, converted=m.converted, unsubscribed=m.unsubscribed,
        complained=m.complained, revenue=amounts(m.revenue_micros), total_opens=m.total_opens,
        total_clicks=m.total_clicks, machine_opens=m.machine_opens, machine_clicks=m.machine_clicks,
        spend=amounts(m.spend_micros), cost_per_conversion=amounts(m.cost_per_conversion_micros),
        delivery_rate=m.delivery_rate, bounce_rate=m.bounce_rate, open_rate=m.open_rate, click_rate=m.click_rate,
        click_to_open_rate=m.click_to_open_rate, conversion_rate=m.conversion_rate,
        unsubscribe_rate=m.unsubscribe_rate, complaint_rate=m.complaint_rate)


def report_to_proto(r: CampaignReport) -> report_pb2.CampaignReport:
    campaign = name_of(r.workspace, "campaigns", r.campaign)
    window = duration_pb2.Duration()
    window.FromTimedelta(r.attribution_window if isinstance(r.attribution_window, timedelta) else timedelta(0))
    return report_pb2.CampaignReport(
        name=f"{campaign}/report", campaign=campaign, totals=metrics_to_proto(r.totals),
        channels=[report_pb2.ChannelMetrics(channel=_channel(c.channel), metrics=metrics_to_proto(c.metrics))
                  for c in r.channels],
        variants=[report_pb2.VariantMetrics(channel=_channel(v.channel), variant=v.variant,
                                            metrics=metrics_to_proto(v.metrics)) for v in r.variants],
        providers=[report_pb2.ProviderMetrics(provider=name_of(r.workspace, "providers", p.provider),
                                              metrics=metrics_to_proto(p.metrics)) for p in r.providers],
        interval=interval_pb2.Interval(start_time=timestamp(r.start), end_time=timestamp(r.end)),
        attribution_window=window, update_time=timestamp(r.update_time), goal_type=r.goal_type,
        comparisons=[report_pb2.VariantComparison(
            channel=_channel(c.channel), variant=c.variant, control=c.control,
            metric=_METRIC.get(c.metric, c.metric), rate=c.rate, control_rate=c.control_rate,
            difference=c.difference, p_value=c.p_value, significant=c.significant, enough_sample=c.enough_sample,
            note=TEST_NOTE) for c in r.comparisons])


# -- aggregation --------------------------------------------------------------------------------------

GRANULARITY = {event_pb2.TIME_GRANULARITY_UNSPECIFIED: "DAY", event_pb2.TIME_GRANULARITY_HOUR: "HOUR",
               event_pb2.TIME_GRANULARITY_DAY: "DAY", event_pb2.TIME_GRANULARITY_WEEK: "WEEK",
               event_pb2.TIME_GRANULARITY_MONTH: "MONTH", event_pb2.TIME_GRANULARITY_TOTAL: "TOTAL"}
DIMENSION = {event_pb2.EVENT_DIMENSION_EVENT_TYPE: "type", event_pb2.EVENT_DIMENSION_CAMPAIGN: "campaign",
             event_pb2.EVENT_DIMENSION_CHANNEL: "channel", event_pb2.EVENT_DIMENSION_VARIANT: "variant"}


def granularity_from_proto(value: int) -> str:
    return GRANULARITY.get(value, "?")


def dimensions_from_proto(values) -> list[str]:
    return [DIMENSION.get(v, "?") for v in values]


def aggregate_row_to_proto(workspace: str, r: AggregateRow) -> event_pb2.AggregationRow:
    return event_pb2.AggregationRow(
        start_time=timestamp(r.start), end_time=timestamp(r.end), event_type=r.type,
        campaign=name_of(workspace, "campaigns", r.campaign), channel=_channel(r.channel), variant=r.variant,
        event_count=r.events, unique_profiles=r.profiles, value_sums=amounts(r.value_micros))


# -- funnels ------------------------------------------------------------------------------------------


def funnel_name(value: str, field: str = "name") -> tuple[str, str]:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "funnels" or not parts[1] or not parts[3]:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/funnels/{{funnel}}`"))
    return parts[1], parts[3]


def funnel_fields_from_proto(f: funnel_pb2.Funnel) -> FunnelFields:
    return FunnelFields(
        display_name=f.display_name, description=f.description,
        steps=tuple(FunnelStep(s.event_type, s.display_name, s.filter) for s in f.steps),
        conversion_window=f.conversion_window.ToTimedelta() if f.HasField("conversion_window") else None,
        labels=dict(f.labels))


def funnel_to_proto(f: Funnel) -> funnel_pb2.Funnel:
    window = duration_pb2.Duration()
    window.FromTimedelta(f.conversion_window)
    return funnel_pb2.Funnel(
        name=name_of(f.workspace, "funnels", f.id), display_name=f.fields.display_name,
        description=f.fields.description,
        steps=[funnel_pb2.FunnelStep(display_name=s.display_name, event_type=s.event_type, filter=s.filter)
               for s in f.fields.steps],
        conversion_window=window, labels=dict(f.fields.labels), create_time=timestamp(f.create_time),
        update_time=timestamp(f.update_time), etag=f.etag)


def step_result_to_proto(s: StepResult) -> funnel_pb2.FunnelStepResult:
    out = funnel_pb2.FunnelStepResult(index=s.index, display_name=s.display_name, profiles=s.profiles,
                                      conversion_rate=s.conversion_rate,
                                      step_conversion_rate=s.step_conversion_rate)
    median = getattr(s, "median_time_from_previous", None)
    if median is not None:
        out.median_time_from_previous.FromTimedelta(median)
    return out
