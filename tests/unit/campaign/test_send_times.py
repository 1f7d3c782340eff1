"""When messages go out (svc_campaign/domain/send_times.py): the next local
occurrence of a time of day per recipient zone (DST gaps and repeats, zone
fallbacks), the throttle (at most N in any rolling hour), even and
front-loaded pacing over the window, and pacing and throttle together."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from svc_campaign.domain.send_times import (SendOptions, due_time, next_local, paced_offset, planned_offset,
                                            recipient_zone)
from svc_campaign.domain.values import Budget, Money, Pacing, Schedule

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NINE = time(9, 0)
H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- local time -------------------------------------------------------------------------------------------


def test_no_options_means_as_soon_as_allowed():
    assert due_time(START, START + H, 3, 10, SendOptions()) is None
    assert not SendOptions().planned


def test_the_next_nine_o_clock_in_each_zone_at_or_after_the_start():
    local = SendOptions(send_local_time=NINE, time_zone="Europe/Paris")
    # 12:00 UTC on 1 June: 21:00 in Tokyo (next 09:00 is tomorrow 00:00 UTC), 08:00 in New York (today 13:00 UTC)
    assert due_time(START, None, 0, 2, local, "Asia/Tokyo") == utc(2026, 6, 2, 0, 0)
    assert due_time(START, None, 1, 2, local, "America/New_York") == utc(2026, 6, 1, 13, 0)
    # in Paris it is 14:00: tomorrow 09:00 CEST
    assert due_time(START, None, 0, 1, local, "Europe/Paris") == utc(2026, 6, 2, 7, 0)


def test_a_start_exactly_at_the_local_time_is_due_then_and_one_microsecond_later_the_next_day():
    zone = ZoneInfo("Europe/Paris")
    at_nine = utc(2026, 1, 15, 8, 0)  # 09:00 CET
    assert next_local(at_nine, NINE, zone) == at_nine
    assert next_local(at_nine + timedelta(microseconds=1), NINE, zone) == utc(2026, 1, 16, 8, 0)


def test_daylight_saving_changes_move_the_utc_instant_not_the_local_time():
    zone = ZoneInfo("America/New_York")
    # the night of 7-8 March 2026 skips 02:00-03:00: 09:00 is EST before, EDT after
    assert next_local(utc(2026, 3, 7, 15, 0), NINE, zone) == utc(2026, 3, 8, 13, 0)
    assert next_local(utc(2026, 3, 6, 15, 0), NINE, zone) == utc(2026, 3, 7, 14, 0)
    # 1 November 2026 falls back: 09:00 EST again
    assert next_local(utc(2026, 10, 31, 15, 0), NINE, zone) == utc(2026, 11, 1, 14, 0)


def test_a_time_the_change_skips_is_shifted_forward_and_a_repeated_one_is_its_first_occurrence():
    paris = ZoneInfo("Europe/Paris")
    half_past_two = time(2, 30)
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist: 03:30 CEST = 01:30 UTC
    assert next_local(utc(2026, 3, 28, 12, 0), half_past_two, paris) == utc(2026, 3, 29, 1, 30)
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, first at 00:30 UTC
    assert next_local(utc(2026, 10, 24, 12, 0), half_past_two, paris) == utc(2026, 10, 25, 0, 30)
    # a start between the two occurrences waits for the next day's, not the repeat
    assert next_local(utc(2026, 10, 25, 0, 45), half_past_two, paris) == utc(2026, 10, 26, 1, 30)


@pytest.mark.parametrize("profile_zone", ["", "Mars/Olympus_Mons", "not a zone", "../etc/passwd"])
def test_a_missing_or_invalid_profile_zone_falls_back_to_the_campaign_zone(profile_zone):
    local = SendOptions(send_local_time=NINE, time_zone="Asia/Tokyo")
    assert due_time(START, None, 0, 1, local, profile_zone) == due_time(START, None, 0, 1, local, "Asia/Tokyo")
    assert recipient_zone(profile_zone, "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")


def test_without_any_valid_zone_utc_is_used():
    assert recipient_zone("nope", "") == ZoneInfo("UTC")
    assert due_time(START, None, 0, 1, SendOptions(send_local_time=NINE), "") == utc(2026, 6, 2, 9, 0)


# -- throttle ---------------------------------------------------------------------------------------------


def test_throttle_message_i_is_due_floor_i_over_n_hours_after_the_start():
    throttled = SendOptions(max_sends_per_hour=3)
    assert [due_time(START, None, i, 8, throttled) - START for i in range(8)] == [
        timedelta(0)] * 3 + [H] * 3 + [2 * H] * 2


def _at_most_n_in_any_rolling_hour(due: list[datetime], n: int) -> bool:
    """Brute force: every hour [t, t + 1 h) starting at a due time holds at most n due times."""
    return all(sum(1 for d in due if t <= d < t + H) <= n for t in due)


@pytest.mark.parametrize("pacing", list(Pacing))
@pytest.mark.parametrize("n,total,window_hours", [(3, 40, 10), (5, 20, 100), (7, 150, 6), (1, 12, 3)])
def test_with_or_without_pacing_no_rolling_hour_holds_more_than_n(pacing, n, total, window_hours):
    options = SendOptions(max_sends_per_hour=n, pacing=pacing)
    window = timedelta(hours=window_hours)
    due = [START + planned_offset(i, total, options, window) for i in range(total)]
    assert due == sorted(due)
    assert _at_most_n_in_any_rolling_hour(due, n)
    assert all(later - earlier >= H for earlier, later in zip(due, due[n:]))
    # and never earlier than pacing alone would have it
    assert all(d >= START + paced_offset(pacing, i, total, window) for i, d in enumerate(due))


@pytest.mark.parametrize("pacing", [Pacing.EVEN, Pacing.FRONT_LOADED])
def test_pacing_and_throttle_together_solve_due_i_as_the_later_of_paced_and_n_after_an_hour_before(pacing):
    """The closed form equals the recursion due(i) = max(g(i), due(i - n) + 1 h) it stands for."""
    n, total, window = 4, 90, timedelta(hours=20)
    options = SendOptions(max_sends_per_hour=n, pacing=pacing)
    recursive: list[timedelta] = []
    for i in range(total):
        paced = paced_offset(pacing, i, total, window)
        recursive.append(max(paced, recursive[i - n] + H) if i >= n else paced)
    assert [planned_offset(i, total, options, window) for i in range(total)] == recursive


# -- pacing -----------------------------------------------------------------------------------------------


def test_even_pacing_spreads_the_messages_linearly_over_the_window():
    even = SendOptions(pacing=Pacing.EVEN)
    end = START + 10 * H
    assert [due_time(START, end, i, 4, even) - START for i in range(4)] == [
        timedelta(0), timedelta(hours=2.5), 5 * H, timedelta(hours=7.5)]


def test_front_loaded_pacing_is_quadratic_half_in_the_first_quarter():
    front = SendOptions(pacing=Pacing.FRONT_LOADED)
    end = START + 16 * H
    assert [due_time(START, end, i, 4, front) - START for i in range(4)] == [timedelta(0), H, 4 * H, 9 * H]
    due = [due_time(START, end, i, 1000, front) for i in range(1000)]
    assert sum(1 for d in due if d < START + 4 * H) == 500
    assert due == sorted(due) and all(d < end for d in due)


@pytest.mark.parametrize("pacing", [Pacing.EVEN, Pacing.FRONT_LOADED])
def test_every_paced_message_is_due_inside_the_window(pacing):
    end = START + timedelta(hours=3, microseconds=7)
    due = [due_time(START, end, i, 997, SendOptions(pacing=pacing)) for i in range(997)]
    assert due[0] == START and all(START <= d < end for d in due)


def test_pacing_without_an_end_or_with_an_empty_window_sends_as_soon_as_it_starts():
    even = SendOptions(pacing=Pacing.EVEN)
    assert due_time(START, None, 5, 10, even) == START
    assert due_time(START, START - H, 5, 10, even) == START


def test_options_are_taken_from_the_schedule_and_the_budget():
    schedule = Schedule(START, START + 30 * H, "Europe/Paris", NINE, 0)
    budget = Budget(Money("EUR", 0), pacing=Pacing.EVEN)
    assert SendOptions.of(schedule, budget) == SendOptions(NINE, 0, Pacing.EVEN, "Europe/Paris")
    assert SendOptions.of(Schedule(START, None, "Europe/Paris", None, 7), None) == SendOptions(max_sends_per_hour=7)
    assert SendOptions.of(None, None) == SendOptions()
