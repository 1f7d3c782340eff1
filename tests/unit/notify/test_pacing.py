"""Pacing rules of the notify service, as pure functions: quiet hours in the
recipient's time zone (across midnight, DST changes, days of the week),
frequency caps over sliding windows, token buckets, retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from svc_kit.channels import Channel
from svc_notify.domain.pacing import (FrequencyCap, QuietHours, TokenBucket, backoff, cap_until, next_allowed,
                                      parse_retry_after, quiet_period, quiet_until, retry_delay)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(time(21, 0), time(8, 0))  # spans midnight


def local(zone: ZoneInfo, *args) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


# -- quiet hours ---------------------------------------------------------------------------------------


def test_a_period_spanning_midnight_holds_on_both_sides_and_ends_next_morning():
    evening = local(PARIS, 2026, 6, 10, 22, 30)
    assert quiet_until(evening, PARIS, [NIGHT], Channel.EMAIL) == local(PARIS, 2026, 6, 11, 8, 0)
    early = local(PARIS, 2026, 6, 11, 3, 0)
    assert quiet_until(early, PARIS, [NIGHT], Channel.EMAIL) == local(PARIS, 2026, 6, 11, 8, 0)
    assert quiet_until(local(PARIS, 2026, 6, 11, 8, 0), PARIS, [NIGHT], Channel.EMAIL) is None  # end is exclusive
    assert quiet_until(local(PARIS, 2026, 6, 11, 20, 59), PARIS, [NIGHT], Channel.EMAIL) is None
    assert quiet_until(local(PARIS, 2026, 6, 11, 21, 0), PARIS, [NIGHT], Channel.EMAIL) == local(
        PARIS, 2026, 6, 12, 8, 0)


def test_the_recipients_time_zone_decides():
    at = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)  # 01:00 in Paris, 19:00 in New York
    assert quiet_until(at, PARIS, [NIGHT], Channel.EMAIL) == local(PARIS, 2026, 6, 11, 8, 0)
    assert quiet_until(at, NEW_YORK, [NIGHT], Channel.EMAIL) is None


def test_a_daytime_period_and_its_channels():
    lunch = QuietHours(time(12, 0), time(14, 0), channels=frozenset({Channel.SMS}))
    at = local(PARIS, 2026, 6, 10, 12, 30)
    assert quiet_until(at, PARIS, [lunch], Channel.SMS) == local(PARIS, 2026, 6, 10, 14, 0)
    assert quiet_until(at, PARIS, [lunch], Channel.EMAIL) is None


def test_days_are_the_days_a_period_starts_on():
    friday_night = QuietHours(time(22, 0), time(9, 0), days=frozenset({5}))  # starts Friday 22:00
    # 2026-06-12 is a Friday.
    assert quiet_until(local(PARIS, 2026, 6, 12, 23, 0), PARIS, [friday_night], Channel.EMAIL) == local(
        PARIS, 2026, 6, 13, 9, 0)
    # Saturday 02:00 still belongs to the period that started on Friday.
    assert quiet_until(local(PARIS, 2026, 6, 13, 2, 0), PARIS, [friday_night], Channel.EMAIL) == local(
        PARIS, 2026, 6, 13, 9, 0)
    # Saturday 23:00: no period starts on Saturday.
    assert quiet_until(local(PARIS, 2026, 6, 13, 23, 0), PARIS, [friday_night], Channel.EMAIL) is None
    weekend = QuietHours(time(0, 0), time(23, 59, 59), days=frozenset({6, 7}))
    assert quiet_until(local(PARIS, 2026, 6, 14, 10, 0), PARIS, [weekend], Channel.EMAIL) == local(
        PARIS, 2026, 6, 14, 23, 59, 59)


def test_periods_that_follow_on_are_followed_to_the_last_end():
    evening = QuietHours(time(20, 0), time(23, 0))
    night = QuietHours(time(23, 0), time(7, 0))
    assert quiet_until(local(PARIS, 2026, 6, 10, 21, 0), PARIS, [evening, night], Channel.EMAIL) == local(
        PARIS, 2026, 6, 11, 7, 0)


def test_spring_forward_end_inside_the_gap_lands_after_it():
    # Europe/Paris skips 02:00-03:00 on 2026-03-29; a period ending at 02:30 ends at 03:30 CEST (01:30 UTC).
    rule = QuietHours(time(22, 0), time(2, 30))
    at = local(PARIS, 2026, 3, 29, 1, 30)
    end = quiet_until(at, PARIS, [rule], Channel.EMAIL)
    assert end == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert end.astimezone(PARIS).hour == 3
    # The night is an hour shorter in absolute time: 22:00 CET to 03:30 CEST is 4.5 hours.
    start, stop = quiet_period(at, PARIS, rule)
    assert stop - start == timedelta(hours=4, minutes=30)


def test_fall_back_night_is_an_hour_longer_and_the_end_keeps_its_wall_clock_time():
    # Europe/Paris repeats 02:00-03:00 on 2026-10-25.
    start, stop = quiet_period(local(PARIS, 2026, 10, 25, 5, 0), PARIS, NIGHT)
    assert stop - start == timedelta(hours=12)
    assert stop.astimezone(PARIS).hour == 8 and stop.astimezone(PARIS).utcoffset() == timedelta(hours=1)


# -- frequency caps ------------------------------------------------------------------------------------


NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def test_a_cap_counts_a_sliding_window_and_waits_until_enough_sends_leave_it():
    cap = FrequencyCap(2, timedelta(hours=24))
    sends = [(NOW - timedelta(hours=30), Channel.EMAIL), (NOW - timedelta(hours=20), Channel.EMAIL),
             (NOW - timedelta(hours=2), Channel.SMS)]
    assert cap_until(NOW, sends[:2], [cap], Channel.EMAIL) is None  # one in the window
    allowed, which = cap_until(NOW, sends, [cap], Channel.EMAIL)
    assert which is cap and allowed == NOW - timedelta(hours=20) + timedelta(hours=24)
    # At that time the oldest counted send leaves the window.
    assert cap_until(allowed, sends, [cap], Channel.EMAIL) is None


def test_a_channel_cap_counts_only_its_channel_and_the_strictest_cap_wins():
    email_cap = FrequencyCap(1, timedelta(hours=1), Channel.EMAIL)
    weekly = FrequencyCap(3, timedelta(days=7))
    sends = [(NOW - timedelta(minutes=10), Channel.SMS), (NOW - timedelta(days=2), Channel.EMAIL),
             (NOW - timedelta(days=1), Channel.PUSH)]
    assert cap_until(NOW, sends, [email_cap], Channel.EMAIL) is None
    allowed, which = cap_until(NOW, sends, [email_cap, weekly], Channel.EMAIL)
    assert which is weekly and allowed == NOW - timedelta(days=2) + timedelta(days=7)
    assert cap_until(NOW, sends, [email_cap], Channel.SMS) is None  # the email cap does not count SMS


def test_next_allowed_combines_quiet_hours_and_caps():
    quiet = [QuietHours(time(21, 0), time(8, 0))]
    cap = FrequencyCap(1, timedelta(hours=12))
    at = local(PARIS, 2026, 6, 10, 20, 0)
    sent = [(local(PARIS, 2026, 6, 10, 19, 0), Channel.EMAIL)]
    # The cap allows 07:00 next day, which is inside quiet hours: 08:00.
    when, reason = next_allowed(at, PARIS, quiet, [cap], sent, Channel.EMAIL)
    assert when == local(PARIS, 2026, 6, 11, 8, 0)
    assert reason.startswith("quiet hours until 2026-06-11 08:00 Europe/Paris")
    assert next_allowed(local(PARIS, 2026, 6, 11, 9, 0), PARIS, quiet, [cap], sent, Channel.EMAIL) is None
    when, reason = next_allowed(at, PARIS, [], [cap], sent, Channel.EMAIL)
    assert when == local(PARIS, 2026, 6, 11, 7, 0) and reason.startswith("frequency cap of 1 per 12 h on all channels")


# -- rate limits and retries ---------------------------------------------------------------------------


def test_a_token_bucket_allows_a_burst_then_the_rate():
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)  # nothing taken
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # never more than the burst
    assert bucket.wait(10.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # wait takes nothing


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    assert [backoff(n, 2.0, 600.0, lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff(20, 2.0, 600.0, lambda: 1.0) == 600.0
    assert backoff(3, 2.0, 600.0, lambda: 0.0) == 0.0
    assert backoff(3, 2.0, 600.0, lambda: 0.5) == 4.0


def test_retry_after_is_honoured_as_a_floor():
    assert retry_delay(1, 30.0, 2.0, 600.0, lambda: 1.0) == 30.0
    assert retry_delay(6, 1.0, 2.0, 600.0, lambda: 1.0) == 64.0
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after("Wed, 10 Jun 2026 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None
