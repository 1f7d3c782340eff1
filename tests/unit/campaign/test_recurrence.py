"""Recurring campaigns' rules (svc_campaign/domain/recurrence.py) and what the campaign aggregate does
with them: occurrences on the campaign's wall clock across daylight-saving changes, the next occurrence
after an instant, the refusals, and the runs the scheduler fires (one per occurrence, one for many missed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from svc_kit.errors import FailedPrecondition, InvalidArgument

from svc_campaign.domain.events import STARTED
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.recurrence import FIELD, Recurrence, violations
from svc_campaign.domain.values import Schedule, State
from tests.fakes import ready_fields

PARIS = "Europe/Paris"
START = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # Friday 09:00 in Paris (CET), two days before summer time


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first(rule: str, n: int, start=START, zone=PARIS, end=None) -> list[datetime]:
    return list(islice(Recurrence.parse(rule, start, zone, end).occurrences(), n))


# -- occurrences ------------------------------------------------------------------------------------------

def test_a_daily_rule_keeps_its_local_hour_across_the_spring_change():
    assert first("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", 4) == [
        utc(2026, 3, 27, 8), utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]  # CET, then CEST


def test_a_daily_rule_keeps_its_local_hour_across_the_autumn_change():
    assert first("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", 3, start=utc(2026, 10, 24, 7)) == [
        utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]  # CEST, then CET


def test_a_time_in_the_spring_gap_is_read_with_the_offset_before_it_and_fires_once():
    # 02:30 does not exist on 29 March in Paris: RFC 5545 reads it with the offset before the gap (01:30 UTC).
    assert first("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", 3) == [
        utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    # every 30 min: 02:00 and 02:30 (gap) land where 03:00 and 03:30 (CEST) do; each instant fires once
    rule = Recurrence.parse("FREQ=MINUTELY;INTERVAL=30;BYHOUR=1,2,3,4", utc(2026, 3, 29, 0), PARIS)
    night = list(islice(rule.occurrences(), 6))
    assert night == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30),
                     utc(2026, 3, 29, 2), utc(2026, 3, 29, 2, 30)]


def test_an_hour_repeated_in_autumn_fires_at_its_first_instance():
    assert first("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", 2, start=utc(2026, 10, 24, 0)) == [
        utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30)]  # 02:30 CEST both days (the first 02:30 on the 25th)


def test_the_next_occurrence_after_an_instant():
    rule = Recurrence.parse("FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0", START, PARIS)
    assert rule.next_after(START) == utc(2026, 3, 30, 7)  # Monday, summer time
    assert rule.next_after(utc(2026, 3, 30, 7)) == utc(2026, 4, 2, 7)  # strictly after
    assert rule.next_after(utc(2026, 3, 30, 6, 59)) == utc(2026, 3, 30, 7)
    assert rule.first() == utc(2026, 3, 30, 7)  # the start (a Friday) is not an occurrence of this rule


def test_the_newest_missed_occurrence_is_the_one_to_fire():
    rule = Recurrence.parse("FREQ=HOURLY;BYMINUTE=0", utc(2026, 5, 1, 0), "UTC")
    assert rule.latest(utc(2026, 5, 1, 0), utc(2026, 5, 3, 17, 45)) == utc(2026, 5, 3, 17)
    assert rule.latest(utc(2026, 5, 1, 0), utc(2026, 5, 1, 0, 59)) is None  # nothing after the last run yet
    assert rule.latest(None, utc(2026, 5, 1, 0)) == utc(2026, 5, 1, 0)


def test_count_until_and_the_end_time_end_the_rule():
    assert len(list(Recurrence.parse("FREQ=DAILY;COUNT=3", START, PARIS).occurrences())) == 3
    until = Recurrence.parse("FREQ=DAILY;UNTIL=20260329T070000Z", START, PARIS)
    assert list(until.occurrences()) == [START, utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)]  # UNTIL is inclusive
    local_date = Recurrence.parse("FREQ=DAILY;UNTIL=20260328", START, PARIS)  # a date: that whole local day
    assert list(local_date.occurrences()) == [START, utc(2026, 3, 28, 8)]
    ended = Recurrence.parse("FREQ=DAILY", START, PARIS, end=utc(2026, 3, 29, 7))  # the end is exclusive
    assert list(ended.occurrences()) == [START, utc(2026, 3, 28, 8)]
    assert ended.next_after(utc(2026, 3, 28, 8)) is None


def test_an_rrule_prefix_and_lower_case_are_accepted():
    assert first("RRULE:freq=daily;byhour=9;byminute=0", 1) == [START]


# -- refusals ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "says"), [
    ("FREQ=MINUTELY;INTERVAL=4", "more often than every 5 min"),
    ("FREQ=SECONDLY", "more often than every 5 min"),
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0,1", "1 min apart"),  # FREQ=DAILY, yet a minute between two runs
    ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0,3", "3 min apart"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never fires"),
    ("FREQ=MINUTELY;INTERVAL=5;BYMONTH=2;BYMONTHDAY=30", "never fires: no day matches"),
    ("FREQ=HOURLY;INTERVAL=24;BYHOUR=10", "never fires"),  # 09:00 + 24 h steps never reach 10:00
    ("FREQ=DAILY;UNTIL=20260301T000000Z", "never fires"),  # UNTIL before the start
    ("DTSTART:20260101T090000Z", "DTSTART is not allowed"),
    ("DTSTART=20260101T090000Z;FREQ=DAILY", "DTSTART is not allowed"),
    ("FREQ=DAILY;RDATE=20260401T090000Z", "RDATE is not allowed"),
    ("FREQ=DAILY;EXRULE=FREQ=WEEKLY", "EXRULE is not allowed"),
    ("RRULE:FREQ=DAILY\nEXDATE:20260401T090000Z", "one RRULE only"),
    ("FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z", "COUNT and UNTIL"),
    ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not one of"),
    ("BYHOUR=9", "FREQ is required"),
    ("FREQ=DAILY;BYHOUR=25", "not a valid RRULE"),
    ("FREQ=DAILY;BYDAY=XX", "not a valid RRULE"),
    ("FREQ=DAILY;COUNT=0", "COUNT must be a positive whole number"),
    ("FREQ=DAILY;;BYHOUR=9", "empty part"),
    ("FREQ=DAILY;BYHOUR", "not a NAME=VALUE part"),
    ("FREQ=DAILY;BYEASTER=0", "unknown RRULE part BYEASTER"),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
    ("FREQ=DAILY;UNTIL=2026", "UNTIL=2026 is not a date"),
])
def test_refused_rules_name_the_recurrence_field(rule, says):
    with pytest.raises(InvalidArgument) as refused:
        Recurrence.parse(rule, START, PARIS)
    [violation] = refused.value.violations
    assert violation.field == FIELD == "campaign.schedule.recurrence"
    assert says in violation.description


def test_the_end_time_bounds_the_window_a_rule_must_fire_in():
    assert violations("FREQ=MONTHLY;BYMONTHDAY=1", START, PARIS, START + timedelta(days=3))[0].description \
        .endswith(f"never fires from 2026-03-27T09:00:00+01:00 to 2026-03-30T10:00:00+02:00")
    assert violations("FREQ=MONTHLY;BYMONTHDAY=1", START, PARIS, START + timedelta(days=6)) == []


def test_every_five_minutes_is_allowed():
    assert violations("FREQ=MINUTELY;INTERVAL=5", START, PARIS, None) == []
    assert violations("FREQ=DAILY;BYHOUR=9;BYMINUTE=0,5", START, PARIS, None) == []
    assert violations("", START, PARIS, None) == []  # no rule: a one-off campaign


# -- the campaign aggregate ---------------------------------------------------------------------------------

def recurring(rule: str = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=3", start=START, end=None) -> Campaign:
    created = datetime(2026, 3, 1, tzinfo=UTC)
    fields = ready_fields(start=start, schedule=Schedule(start, end, PARIS, recurrence=rule))
    campaign = Campaign.create("acme", "daily", fields, created)
    campaign.transition("schedule", created)
    campaign.events.clear()
    return campaign


def test_a_campaign_with_a_bad_rule_is_refused_on_the_field():
    with pytest.raises(InvalidArgument) as refused:
        recurring("FREQ=MINUTELY")
    assert [v.field for v in refused.value.violations] == ["campaign.schedule.recurrence"]


def test_each_occurrence_fires_one_run_and_the_last_leaves_nothing_due():
    campaign = recurring()
    assert campaign.due_time == START
    with pytest.raises(FailedPrecondition):
        campaign.fire(START - timedelta(seconds=1))
    campaign.fire(START)
    assert (campaign.state, campaign.runs, campaign.last_run_time) == (State.RUNNING, 1, START)
    assert campaign.due_time == utc(2026, 3, 28, 8) and campaign.has_more_runs
    campaign.fire(utc(2026, 3, 28, 8, 0, 3))
    campaign.fire(utc(2026, 3, 29, 7))  # summer time: still 09:00 in Paris
    assert campaign.state is State.RUNNING and campaign.runs == 3
    assert campaign.due_time is None and not campaign.has_more_runs
    started = [(e.type, e.data) for e in campaign.events]
    assert started == [
        (STARTED, {"from_state": "SCHEDULED", "to_state": "RUNNING", "run": 1, "occurrence_time": START}),
        (STARTED, {"from_state": "RUNNING", "to_state": "RUNNING", "run": 2, "occurrence_time": utc(2026, 3, 28, 8)}),
        (STARTED, {"from_state": "RUNNING", "to_state": "RUNNING", "run": 3, "occurrence_time": utc(2026, 3, 29, 7)}),
    ]
    assert Campaign.replay(_history(campaign)) == campaign  # the runs come back from the event stream


def _history(campaign: Campaign):
    fresh = recurring(campaign.fields.schedule.recurrence, campaign.fields.schedule.start_time)
    created = Campaign.create("acme", "daily", fresh.fields, datetime(2026, 3, 1, tzinfo=UTC))
    created.transition("schedule", datetime(2026, 3, 1, tzinfo=UTC))
    return created.events + campaign.events


def test_a_long_outage_fires_one_catch_up_run_for_the_newest_missed_occurrence():
    campaign = recurring("FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    campaign.fire(START)
    back = utc(2026, 4, 10, 12)  # twelve occurrences missed
    campaign.fire(back)
    assert campaign.runs == 2 and campaign.last_run_time == utc(2026, 4, 10, 7)
    assert campaign.due_time == utc(2026, 4, 11, 7)
    with pytest.raises(FailedPrecondition):
        campaign.fire(back)  # nothing more due until the next occurrence


def test_pause_holds_the_runs_and_resume_fires_one_for_those_missed_meanwhile():
    campaign = recurring("FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    campaign.fire(START)
    campaign.transition("pause", START + timedelta(hours=1))
    assert campaign.due_time is None
    campaign.transition("resume", utc(2026, 4, 2, 12))
    assert campaign.due_time == utc(2026, 3, 28, 8)  # due at once: one run for the occurrences missed
    campaign.fire(utc(2026, 4, 2, 12))
    assert campaign.runs == 2 and campaign.last_run_time == utc(2026, 4, 2, 7)
    campaign.transition("cancel", utc(2026, 4, 2, 13))
    assert campaign.due_time is None and not campaign.has_more_runs


def test_a_manual_start_is_run_one_and_the_rule_goes_on_after_it():
    campaign = recurring("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;COUNT=2")
    now = START - timedelta(hours=5)
    campaign.transition("start", now)
    assert (campaign.runs, campaign.last_run_time, campaign.due_time) == (1, now, START)


def test_a_one_off_campaign_has_one_run_at_its_start_time():
    campaign = recurring("")
    assert not campaign.recurring and campaign.due_time == START
    campaign.fire(START + timedelta(minutes=1))
    assert (campaign.runs, campaign.last_run_time, campaign.due_time) == (1, START, None)
    assert not campaign.has_more_runs


def test_the_recurrence_cannot_change_while_the_campaign_runs():
    campaign = recurring()
    campaign.fire(START)
    with pytest.raises(FailedPrecondition) as refused:
        campaign.update(replace(campaign.fields, schedule=replace(campaign.fields.schedule, recurrence="FREQ=WEEKLY")),
                        {"schedule.recurrence"}, START)
    assert "schedule.recurrence" in str(refused.value)
