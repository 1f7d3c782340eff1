"""The rules of when messages go out, on the campaign: pacing needs an end
time; a local send time excludes pacing and throttling and needs a window of
25 hours or more; the throttle is not negative; a bad time of day or pacing
value from the API is a field violation. And the fields through protobuf."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta
from decimal import Decimal

import pytest

from marketing.campaign.v1 import campaign_pb2
from svc_kit.errors import FailedPrecondition, InvalidArgument

from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import Budget, Money, Pacing, Schedule, State
from svc_campaign.entrypoints import mapping
from tests.fakes import NOW, ready_fields

START = NOW + timedelta(days=1)
NINE = time(9, 0)


def fields(schedule: Schedule, pacing: Pacing = Pacing.NONE):
    return ready_fields(start=START, schedule=schedule,
                        budget=replace(ready_fields().budget, pacing=pacing))


def violations(data) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        Campaign.create("acme", "timed", data, NOW)
    return [(v.field, v.description) for v in caught.value.violations]


def window(hours: float, **parts) -> Schedule:
    return Schedule(START, START + timedelta(hours=hours), "Europe/Paris", **parts)


@pytest.mark.parametrize("pacing", [Pacing.EVEN, Pacing.FRONT_LOADED])
def test_pacing_needs_an_end_time(pacing):
    (found,) = violations(fields(Schedule(START, None, "Europe/Paris"), pacing))
    assert found[0] == "campaign.budget.pacing" and "schedule.end_time" in found[1]


def test_a_local_send_time_excludes_pacing_and_throttling():
    paced = violations(fields(window(48, send_local_time=NINE), Pacing.EVEN))
    throttled = violations(fields(window(48, send_local_time=NINE, max_sends_per_hour=100)))
    assert [f for f, _ in paced] == ["campaign.schedule.send_local_time"] and "pacing" in paced[0][1]
    assert [f for f, _ in throttled] == ["campaign.schedule.send_local_time"]
    assert "max_sends_per_hour" in throttled[0][1]


@pytest.mark.parametrize("hours", [1, 24, 24.99])
def test_a_local_send_time_needs_a_window_of_25_hours(hours):
    (found,) = violations(fields(window(hours, send_local_time=NINE)))
    assert found[0] == "campaign.schedule.end_time" and "25 hours" in found[1]


def test_pacing_is_refused_on_a_recurring_campaign():
    (found,) = violations(fields(window(240, recurrence="FREQ=DAILY"), Pacing.EVEN))
    assert found[0] == "campaign.budget.pacing" and "schedule.recurrence" in found[1]


@pytest.mark.parametrize("schedule,pacing", [
    (window(25, send_local_time=NINE), Pacing.NONE),
    (Schedule(START, None, "Europe/Paris", NINE), Pacing.NONE),
    (window(10, max_sends_per_hour=50), Pacing.EVEN),
    (Schedule(START, None, "Europe/Paris", None, 50), Pacing.NONE),
    (window(2), Pacing.FRONT_LOADED),
    (window(240, recurrence="FREQ=DAILY", max_sends_per_hour=50), Pacing.NONE),
])
def test_valid_combinations_are_accepted_and_can_be_scheduled(schedule, pacing):
    campaign = Campaign.create("acme", "timed", fields(schedule, pacing), NOW)
    campaign.transition("schedule", NOW)
    assert campaign.state is State.SCHEDULED


def running(data) -> Campaign:
    return Campaign("acme", "timed", data, State.RUNNING, NOW, NOW, NOW, version=3)


def test_a_running_campaign_may_change_its_pacing_but_not_its_throttle_or_local_time():
    campaign = running(fields(window(10)))
    campaign.update(fields(window(10), Pacing.FRONT_LOADED), {"budget"}, NOW)
    assert campaign.fields.budget.pacing is Pacing.FRONT_LOADED
    for path, incoming in (("schedule.max_sends_per_hour", fields(window(10, max_sends_per_hour=5))),
                           ("schedule.send_local_time", fields(window(30, send_local_time=NINE)))):
        with pytest.raises(FailedPrecondition) as caught:
            campaign.update(incoming, {path}, NOW)
        assert f"campaign is RUNNING: {path}" in caught.value.message


def test_a_paced_campaign_keeps_its_end_time():
    campaign = running(fields(window(10), Pacing.EVEN))
    with pytest.raises(InvalidArgument) as caught:
        campaign.update(fields(Schedule(START, None, "Europe/Paris")), {"schedule.end_time"}, NOW)
    assert [v.field for v in caught.value.violations] == ["campaign.budget.pacing"]


# -- through protobuf -------------------------------------------------------------------------------------


def test_the_fields_roundtrip_through_protobuf():
    for data in (fields(window(30, send_local_time=time(9, 30, 15, 250000))),
                 fields(window(10, max_sends_per_hour=120), Pacing.FRONT_LOADED)):
        campaign = Campaign.create("acme", "timed", data, NOW)
        message = mapping.campaign_to_proto(campaign)
        assert mapping.fields_from_proto(message) == data
    message = mapping.campaign_to_proto(Campaign.create("acme", "t", fields(window(10), Pacing.EVEN), NOW))
    assert message.budget.pacing == campaign_pb2.Budget.PACING_EVEN


def _proto(**schedule) -> campaign_pb2.Campaign:
    return campaign_pb2.Campaign(display_name="Timed", schedule=campaign_pb2.Schedule(time_zone="UTC", **schedule))


@pytest.mark.parametrize("hours,minutes,seconds,nanos", [(24, 0, 0, 0), (9, 60, 0, 0), (9, 0, 60, 0),
                                                         (-1, 0, 0, 0), (9, 0, 0, 1_000_000_000)])
def test_an_invalid_time_of_day_is_a_field_violation(hours, minutes, seconds, nanos):
    message = _proto()
    message.schedule.send_local_time.hours, message.schedule.send_local_time.minutes = hours, minutes
    message.schedule.send_local_time.seconds, message.schedule.send_local_time.nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as caught:
        mapping.fields_from_proto(message)
    assert [v.field for v in caught.value.violations] == ["campaign.schedule.send_local_time"]


def test_an_unknown_pacing_value_is_a_field_violation():
    message = campaign_pb2.Campaign(display_name="Paced", budget=campaign_pb2.Budget(pacing=7))
    message.budget.total.currency_code, message.budget.total.units = "EUR", 10
    with pytest.raises(InvalidArgument) as caught:
        mapping.fields_from_proto(message)
    assert [v.field for v in caught.value.violations] == ["campaign.budget.pacing"]


def test_midnight_is_a_local_send_time_and_unset_means_none():
    message = _proto()
    message.schedule.send_local_time.SetInParent()
    assert mapping.fields_from_proto(message).schedule.send_local_time == time(0, 0)
    assert mapping.fields_from_proto(_proto()).schedule.send_local_time is None


def test_the_new_schedule_parts_are_writable_through_an_update_mask():
    assert mapping.update_paths(["schedule.send_local_time", "schedule.max_sends_per_hour"]) == {
        "schedule.send_local_time", "schedule.max_sends_per_hour"}
    assert Budget(Money("EUR", Decimal(1))).pacing is Pacing.NONE
