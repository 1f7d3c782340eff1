"""Protobuf messages to domain values and back. Input problems become field
violations named by their path in the request."""

from __future__ import annotations

from datetime import UTC, time
from decimal import Decimal

from datetime import timedelta

from google.protobuf import timestamp_pb2
from google.type import money_pb2, timeofday_pb2

from marketing.campaign.v1 import campaign_audience_pb2, campaign_launch_pb2, campaign_pb2, campaign_stats_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import format_name
from svc_kit.proto_enums import channel_from_proto, channel_proto_names, channel_to_proto

from svc_campaign.adapters.event_codec import PRODUCER
from svc_campaign.domain.delivery import Tally
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.ab_test import Decision
from svc_campaign.domain.values import (AbTest, Budget, Channel, ChannelAllocation, ContentRef, GoalMetric, Money,
                                        Pacing, Schedule, State)

_STATE_TO_PROTO = {state: campaign_pb2.Campaign.State.Value(f"STATE_{state.value}") for state in State}
_PACING_TO_PROTO = {Pacing.NONE: campaign_pb2.Budget.PACING_UNSPECIFIED, Pacing.EVEN: campaign_pb2.Budget.PACING_EVEN,
                    Pacing.FRONT_LOADED: campaign_pb2.Budget.PACING_FRONT_LOADED}
_PACING_FROM_PROTO = {number: pacing for pacing, number in _PACING_TO_PROTO.items()}

WRITABLE_PATHS = frozenset({
    "display_name", "description", "channels", "schedule", "schedule.start_time", "schedule.end_time",
    "schedule.time_zone", "schedule.recurrence", "schedule.send_local_time", "schedule.max_sends_per_hour", "budget",
    "target_segments", "contents", "labels", "ab_test",
})
OUTPUT_ONLY_PATHS = frozenset({"name", "state", "create_time", "update_time", "state_time", "etag",
                               "ab_test_decision"})
_GOAL_FROM_PROTO = {campaign_pb2.AbTest.GOAL_METRIC_UNSPECIFIED: GoalMetric.CLICKS,
                    **{campaign_pb2.AbTest.GoalMetric.Value(f"GOAL_METRIC_{g.value}"): g for g in GoalMetric}}
NANOS = Decimal(1_000_000_000)


class _Violations:
    def __init__(self):
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)


def _channel(value: int, field: str, out: _Violations) -> Channel | None:
    channel = channel_from_proto(value)
    if channel is None:
        out.add(field, f"must be one of {channel_proto_names()}")
    return channel


def _time(message: timestamp_pb2.Timestamp, field: str, out: _Violations):
    try:
        return message.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        out.add(field, "is not a valid timestamp")
        return None


def _time_of_day(message: timeofday_pb2.TimeOfDay, field: str, out: _Violations) -> time | None:
    t = message
    if not (0 <= t.hours <= 23 and 0 <= t.minutes <= 59 and 0 <= t.seconds <= 59 and 0 <= t.nanos <= 999_999_999):
        out.add(field, f"{t.hours:02d}:{t.minutes:02d}:{t.seconds:02d} (nanos {t.nanos}) is not a time of day "
                       "from 00:00:00 to 23:59:59")
        return None
    return time(t.hours, t.minutes, t.seconds, t.nanos // 1000)


def _money(message: money_pb2.Money, field: str, out: _Violations) -> Money | None:
    units, nanos = message.units, message.nanos
    if not -999_999_999 <= nanos <= 999_999_999 or (units > 0 > nanos) or (units < 0 < nanos):
        out.add(field + ".nanos", "must lie within ±999,999,999 and have the sign of units")
        return None
    return Money(message.currency_code, Decimal(units) + Decimal(nanos) / NANOS)


def fields_from_proto(message: campaign_pb2.Campaign) -> CampaignFields:
    out = _Violations()
    p = "campaign."
    channels = tuple(c for i, v in enumerate(message.channels) if (c := _channel(v, f"{p}channels[{i}]", out)))
    schedule = None
    if message.HasField("schedule"):
        s = message.schedule
        schedule = Schedule(
            _time(s.start_time, p + "schedule.start_time", out) if s.HasField("start_time") else None,
            _time(s.end_time, p + "schedule.end_time", out) if s.HasField("end_time") else None,
            s.time_zone,
            _time_of_day(s.send_local_time, p + "schedule.send_local_time", out)
            if s.HasField("send_local_time") else None,
            s.max_sends_per_hour,
            s.recurrence.strip(),
        )
    budget = None
    if message.HasField("budget"):
        b = message.budget
        if not b.HasField("total"):
            out.add(p + "budget.total", "required when a budget is given")
        else:
            total = _money(b.total, p + "budget.total", out)
            allocations = []
            for i, a in enumerate(b.allocations):
                at = f"{p}budget.allocations[{i}]"
                channel = _channel(a.channel, at + ".channel", out)
                amount = _money(a.amount, at + ".amount", out) if a.HasField("amount") else None
                if not a.HasField("amount"):
                    out.add(at + ".amount", "required")
                if channel and amount:
                    allocations.append(ChannelAllocation(channel, amount))
            pacing = _PACING_FROM_PROTO.get(b.pacing)
            if pacing is None:
                out.add(p + "budget.pacing", "must be PACING_UNSPECIFIED, PACING_EVEN or PACING_FRONT_LOADED")
            if total and pacing:
                budget = Budget(total, tuple(allocations), pacing)
    contents = []
    for i, ref in enumerate(message.contents):
        channel = _channel(ref.channel, f"{p}contents[{i}].channel", out)
        if channel:
            contents.append(ContentRef(channel, ref.template))
    ab_test = None
    if message.HasField("ab_test"):
        a = message.ab_test
        goal = _GOAL_FROM_PROTO.get(a.goal_metric)
        if goal is None:
            out.add(p + "ab_test.goal_metric", "must be GOAL_METRIC_CLICKS, GOAL_METRIC_CONVERSIONS or "
                                               "GOAL_METRIC_OPENS")
        ab_test = AbTest(a.test_share_percent, a.wait.ToTimedelta() if a.HasField("wait") else timedelta(0),
                         goal or GoalMetric.CLICKS, a.decide_when_significant)
    out.raise_if_any()
    return CampaignFields(
        display_name=message.display_name,
        description=message.description,
        channels=channels,
        schedule=schedule,
        budget=budget,
        target_segments=tuple(message.target_segments),
        contents=tuple(contents),
        labels=dict(message.labels),
        ab_test=ab_test,
    )


def update_paths(paths: list[str]) -> frozenset[str]:
    out = _Violations()
    if not paths:
        out.add("update_mask", "required: name the fields to change (for example `description`), or `*` for all")
    if "*" in paths:
        if len(paths) > 1:
            out.add("update_mask", "`*` cannot be combined with other paths")
        out.raise_if_any()
        return frozenset(p for p in WRITABLE_PATHS if "." not in p)
    for path in paths:
        if path == "state":
            out.add("update_mask", "state is output only: change it with :schedule, :start, :pause, :resume, "
                                   ":complete or :cancel")
        elif path in OUTPUT_ONLY_PATHS:
            out.add("update_mask", f"{path} is output only")
        elif path not in WRITABLE_PATHS:
            out.add("update_mask", f"unknown field {path!r}; writable: {', '.join(sorted(WRITABLE_PATHS))}")
    out.raise_if_any()
    return frozenset(paths)


def _money_to_proto(money: Money) -> money_pb2.Money:
    units = int(money.amount)
    nanos = int((money.amount - units) * NANOS)
    return money_pb2.Money(currency_code=money.currency, units=units, nanos=nanos)


def _timestamp(value) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _ab_test_to_proto(ab_test: AbTest, message: campaign_pb2.AbTest) -> None:
    message.test_share_percent = ab_test.test_share_percent
    message.wait.FromTimedelta(ab_test.wait)
    message.goal_metric = campaign_pb2.AbTest.GoalMetric.Value(f"GOAL_METRIC_{ab_test.goal_metric.value}")
    message.decide_when_significant = ab_test.decide_when_significant


def ab_test_decision_to_proto(decision: Decision, message: campaign_pb2.AbTestDecision) -> None:
    message.winner, message.control, message.p_value = decision.winner, decision.control, decision.p_value
    message.reason = campaign_pb2.AbTestDecision.Reason.Value(f"REASON_{decision.reason.value}")
    message.decide_time.FromDatetime(decision.decide_time)
    message.variants.extend(campaign_pb2.AbTestDecision.VariantFigures(
        variant=f.variant, sent=f.sent, delivered=f.delivered, goal_count=f.goal_count, rate=f.rate)
        for f in decision.variants)


def campaign_to_proto(campaign: Campaign, decision: Decision | None = None) -> campaign_pb2.Campaign:
    data = campaign.fields
    message = campaign_pb2.Campaign(
        name=format_name(campaign.workspace, "campaigns", campaign.id),
        display_name=data.display_name,
        description=data.description,
        state=_STATE_TO_PROTO[campaign.state],
        channels=[channel_to_proto(c) for c in data.channels],
        target_segments=list(data.target_segments),
        contents=[campaign_pb2.ContentRef(channel=channel_to_proto(c.channel), template=c.template)
                  for c in data.contents],
        labels=data.labels,
        create_time=_timestamp(campaign.create_time),
        update_time=_timestamp(campaign.update_time),
        state_time=_timestamp(campaign.state_time),
        etag=campaign.etag,
    )
    if data.schedule is not None:
        s = data.schedule
        message.schedule.SetInParent()
        message.schedule.time_zone = s.time_zone
        message.schedule.recurrence = s.recurrence
        if s.start_time:
            message.schedule.start_time.CopyFrom(_timestamp(s.start_time))
        if s.end_time:
            message.schedule.end_time.CopyFrom(_timestamp(s.end_time))
        if s.send_local_time is not None:
            t = s.send_local_time
            message.schedule.send_local_time.CopyFrom(timeofday_pb2.TimeOfDay(
                hours=t.hour, minutes=t.minute, seconds=t.second, nanos=t.microsecond * 1000))
        message.schedule.max_sends_per_hour = s.max_sends_per_hour
    if data.budget is not None:
        message.budget.total.CopyFrom(_money_to_proto(data.budget.total))
        message.budget.allocations.extend(
            campaign_pb2.ChannelAllocation(channel=channel_to_proto(a.channel), amount=_money_to_proto(a.amount))
            for a in data.budget.allocations
        )
        message.budget.pacing = _PACING_TO_PROTO[data.budget.pacing]
    if data.ab_test is not None:
        _ab_test_to_proto(data.ab_test, message.ab_test)
    if decision is not None:
        ab_test_decision_to_proto(decision, message.ab_test_decision)
    return message


def campaign_event_to_proto(event: CampaignEvent, campaign: Campaign) -> campaign_pb2.CampaignEvent:
    return campaign_pb2.CampaignEvent(
        name=f"{format_name(event.workspace, 'campaigns', event.campaign_id)}/events/{event.version}",
        event_id=event.event_id,
        type=event.type,
        version=event.version,
        occur_time=_timestamp(event.occurred_at),
        producer=PRODUCER,
        changed_paths=event.data.get("paths", []),
        campaign=campaign_to_proto(campaign),
    )


def campaign_audience_to_proto(found) -> campaign_audience_pb2.CampaignAudience:
    """From service_layer.audience.CampaignAudience."""
    message = campaign_audience_pb2.CampaignAudience(
        name=f"workspaces/{found.workspace}/campaigns/{found.campaign_id}/audience", size=found.size)
    for cached in found.segments:
        entry = message.segments.add(
            segment=f"workspaces/{found.workspace}/segments/{cached.segment_id}", size=cached.size,
            state=campaign_audience_pb2.CachedSegment.State.Value(f"STATE_{cached.state}"))
        if cached.event_time:
            entry.event_time.FromDatetime(cached.event_time)
        if cached.update_time:
            entry.update_time.FromDatetime(cached.update_time)
    return message


def campaign_launch_to_proto(launch, listed: bool = False) -> campaign_launch_pb2.CampaignLaunch:
    """From domain.launch.Launch; named `.../launches/{run}` when `listed` (ListCampaignLaunches), else
    `.../launch` (GetCampaignLaunch: the newest run)."""
    shown = "FAILED" if launch.state.value == "COMPENSATING" else launch.state.value
    campaign = f"workspaces/{launch.workspace}/campaigns/{launch.campaign_id}"
    message = campaign_launch_pb2.CampaignLaunch(
        name=f"{campaign}/launches/{launch.run}" if listed else f"{campaign}/launch", run=launch.run,
        state=campaign_launch_pb2.CampaignLaunch.State.Value(f"STATE_{shown}"),
        last_error=launch.last_error, failure_reason=launch.failure_reason,
        compensating=launch.state.value == "COMPENSATING")
    step_of = campaign_launch_pb2.CampaignLaunch.Step.Value
    if launch.failed_step is not None:
        message.failed_step = step_of(f"STEP_{launch.failed_step.value}")
    for record in launch.steps:
        entry = message.steps.add(
            step=step_of(f"STEP_{record.step.value}"), detail=record.detail,
            outcome=campaign_launch_pb2.LaunchStepRecord.Outcome.Value(f"OUTCOME_{record.outcome.value}"))
        if record.target is not None:
            entry.target = record.target
        entry.time.FromDatetime(record.time)
    for t in launch.targets:
        entry = message.targets.add(
            segment=t.segment, channel=channel_to_proto(t.channel), template=t.template, snapshot=t.snapshot,
            total=t.total, sent=t.sent, duplicates=t.duplicates, refused=t.refused, error=t.error,
            state=campaign_launch_pb2.LaunchTarget.State.Value(f"STATE_{t.state.value}"))
        if t.last_send_time is not None:
            entry.last_send_time.FromDatetime(t.last_send_time)
    done, total, failed = launch.progress
    message.progress.done, message.progress.total, message.progress.failed = done, total, failed
    if launch.start_time:
        message.progress.start_time.FromDatetime(launch.start_time)
    if launch.update_time:
        message.progress.update_time.FromDatetime(launch.update_time)
    if launch.next_attempt_time and launch.last_error:
        message.next_attempt_time.FromDatetime(launch.next_attempt_time)
    if launch.pending_action is not None:
        message.pending_messages_action = campaign_launch_pb2.CampaignLaunch.MessagesAction.Value(
            f"MESSAGES_ACTION_{launch.pending_action.value}")
    message.cancelled_message_count = launch.cancelled_messages
    message.handed_over_message_count = launch.handed_over_messages
    message.messages_held = launch.messages_held
    if launch.ab is not None:
        message.ab_test_phase = campaign_launch_pb2.CampaignLaunch.AbTestPhase.Value(
            f"AB_TEST_PHASE_{launch.ab.phase.value}")
        if launch.ab.decide_time is not None:
            message.ab_test_decide_time.FromDatetime(launch.ab.decide_time)
    if launch.occurrence_time:
        message.occurrence_time.FromDatetime(launch.occurrence_time)
    return message


def delivery_to_stats(tally: Tally, pause_reason: str, stats: campaign_stats_pb2.CampaignStats) -> None:
    """The delivery tally's figures into a CampaignStats."""
    stats.spend.extend(campaign_stats_pb2.ChannelSpend(channel=channel_to_proto(s.channel),
                                                       spent=_money_to_proto(s.money), messages_sent=s.sent)
                       for s in tally.spend)
    stats.pause_reason = pause_reason
    stats.messages_known, stats.messages_final = tally.known, tally.final
