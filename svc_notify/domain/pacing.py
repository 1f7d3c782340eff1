"""Pacing rules, free of storage and clocks (the caller passes the time):
quiet hours in the recipient's time zone, per-recipient frequency caps over
sliding windows, token buckets for provider and domain rate limits, and
retry backoff with full jitter. None of them drops a message: each answers
when it may go."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from svc_kit.channels import Channel

DAY = timedelta(days=1)
QUIET_REASON = "quiet hours"
CAP_REASON = "frequency cap"
PACING_REASONS = (QUIET_REASON, CAP_REASON)  # how the state reasons of paced messages begin
MAX_RULE_HOPS = 32  # a quiet period can end inside another, or inside a cap's window: follow them


@dataclass(frozen=True)
class QuietHours:
    start: time  # local
    end: time  # local; at or before `start` when the period spans midnight
    days: frozenset[int] = frozenset()  # ISO weekdays the period starts on (1 Monday .. 7 Sunday); all if empty
    channels: frozenset[Channel] = frozenset()  # all if empty

    def applies_to(self, channel: Channel) -> bool:
        return not self.channels or channel in self.channels


@dataclass(frozen=True)
class FrequencyCap:
    max_messages: int
    period: timedelta
    channel: Channel | None = None  # None: every channel counted together

    def counts(self, channel: Channel) -> bool:
        return self.channel is None or self.channel is channel


def _utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC. A time skipped by a DST change (02:30 on
    the spring-forward night) is read with the offset before the change, which
    lands it just after the gap; a repeated one (autumn) is its first occurrence."""
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def quiet_period(now: datetime, zone: ZoneInfo, rule: QuietHours) -> tuple[datetime, datetime] | None:
    """The period of `rule` that contains `now`, as UTC (start, end), or None."""
    today = now.astimezone(zone).date()
    spans_midnight = rule.end <= rule.start
    for start_day in (today - DAY, today):
        if rule.days and start_day.isoweekday() not in rule.days:
            continue
        start = _utc(start_day, rule.start, zone)
        end = _utc(start_day + DAY if spans_midnight else start_day, rule.end, zone)
        if start <= now < end:
            return start, end
    return None


def quiet_until(now: datetime, zone: ZoneInfo, rules: Iterable[QuietHours], channel: Channel) -> datetime | None:
    """When the quiet hours that hold `now` end (following periods that overlap
    or follow on), or None when `now` is outside every quiet period."""
    applicable = [r for r in rules if r.applies_to(channel)]
    at = now
    for _ in range(MAX_RULE_HOPS):
        ends = [p[1] for r in applicable if (p := quiet_period(at, zone, r)) is not None]
        if not ends:
            break
        at = max(ends)
    return at if at > now else None


def cap_until(now: datetime, sends: Sequence[tuple[datetime, Channel]], caps: Iterable[FrequencyCap],
              channel: Channel) -> tuple[datetime, FrequencyCap] | None:
    """When one more message on `channel` fits every cap, given the recipient's
    sends so far (time, channel), or None when it fits now. A cap allows at most
    `max_messages` in any window of `period` ending now: the message waits until
    enough of the counted sends have left the window."""
    latest: tuple[datetime, FrequencyCap] | None = None
    for cap in caps:
        if not cap.counts(channel):
            continue
        window_start = now - cap.period
        times = sorted(t for t, c in sends if cap.counts(c) and window_start < t <= now)
        if len(times) >= cap.max_messages:
            allowed = times[len(times) - cap.max_messages] + cap.period
            if latest is None or allowed > latest[0]:
                latest = (allowed, cap)
    return latest


def next_allowed(now: datetime, zone: ZoneInfo, quiet: Sequence[QuietHours], caps: Sequence[FrequencyCap],
                 sends: Sequence[tuple[datetime, Channel]], channel: Channel) -> tuple[datetime, str] | None:
    """The earliest time at or after `now` outside quiet hours and within every
    frequency cap, with the reason for people, or None when the message may go now."""
    at, reason = now, ""
    for _ in range(MAX_RULE_HOPS):
        moved = False
        if (end := quiet_until(at, zone, quiet, channel)) is not None:
            at, moved = end, True
            local = end.astimezone(zone)
            reason = f"{QUIET_REASON} until {local.strftime('%Y-%m-%d %H:%M')} {zone.key}"
        if (capped := cap_until(at, sends, caps, channel)) is not None:
            allowed, cap = capped
            if allowed > at:
                at, moved = allowed, True
                what = f"CHANNEL_{cap.channel.value}" if cap.channel else "all channels"
                reason = (f"{CAP_REASON} of {cap.max_messages} per {_duration(cap.period)} on {what} "
                          f"reached; next slot {allowed.isoformat(timespec='seconds')}")
        if not moved:
            break
    return (at, reason) if at > now else None


def _duration(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# -- rate limits ---------------------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; one token per message.
    Times are seconds on any monotonic scale."""

    def __init__(self, rate: float, burst: int, now: float):
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0.0: now); takes nothing."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> float:
        """0.0 when a token was taken; else the seconds until one will be there (nothing taken)."""
        wait = self.wait(now)
        if wait == 0.0:
            self.tokens -= 1.0
        return wait


# -- retries -------------------------------------------------------------------------------------------


def backoff(attempt: int, base: float, cap: float, random: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1)))."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return random() * ceiling


def retry_delay(attempt: int, retry_after: float | None, base: float, cap: float,
                random: Callable[[], float]) -> float:
    """Seconds before the next attempt: the backoff, but never less than a provider's Retry-After."""
    delay = backoff(attempt, base, cap, random)
    return max(delay, retry_after) if retry_after is not None else delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
