"""When each message of a launch goes out: its due time, handed to the notify
service as the message's `send_time` (notify holds a message until then).

A launch plans its messages in one order (target by target, each target's
snapshot members in page order); message `index` of `total` is due:

- **at the recipient's local time** (`schedule.send_local_time`, "09:00
  local"): the next occurrence of that time of day in the recipient's IANA
  zone (the profile's `time_zone`; a missing or unknown zone falls back to the
  campaign's `schedule.time_zone`, then UTC) at or after the launch's start.
  On a day a daylight-saving change skips the time (02:30 on a spring-forward
  night) it is shifted forward by the gap; a time that occurs twice (autumn)
  is its first occurrence;
- **paced** (`budget.pacing`) over the window from the launch's start to the
  schedule's end (`W`): EVEN at start + W * index / total; FRONT_LOADED at
  start + W * (index / total)^2, so half of the messages are due in the first
  quarter of the window and the rate falls linearly to the end;
- **throttled** (`schedule.max_sends_per_hour` N): at most N messages in any
  hour, message i at start + floor(i / N) hours. With pacing too, message i is
  due at the later of its paced time and N messages after the one an hour
  before it: start + max(g(i), g(i mod N) + floor(i / N) hours), g being the
  paced offset. (That is the recursion due(i) = max(g(i), due(i - N) + 1 h)
  solved: for an even or front-loaded g the maximum over the chain i, i - N,
  i - 2N, ... lies at one of its ends.)

Without any of them a message is due as soon as allowed (None). Local time
excludes pacing and throttling (domain/validation.py).

Pure: no clock, no I/O; integer microseconds, so the same message gets the
same due time however often it is planned (a page handed over again after a
crash carries the same send times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_campaign.domain.values import Budget, Pacing, Schedule

HOUR = timedelta(hours=1)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class SendOptions:
    """What decides a launch's due times, taken from the campaign when it starts."""

    send_local_time: time | None = None
    max_sends_per_hour: int = 0  # 0: no limit
    pacing: Pacing = Pacing.NONE
    time_zone: str = ""  # with send_local_time: the campaign's zone, the fallback for a recipient's

    @classmethod
    def of(cls, schedule: Schedule | None, budget: Budget | None) -> SendOptions:
        schedule = schedule or Schedule()
        local = schedule.send_local_time
        return cls(local, max(schedule.max_sends_per_hour, 0), budget.pacing if budget else Pacing.NONE,
                   schedule.time_zone if local is not None else "")  # the zone matters to local time only

    @property
    def planned(self) -> bool:
        """Some message may be due later than as soon as allowed."""
        return self.local or self.max_sends_per_hour > 0 or self.pacing is not Pacing.NONE

    @property
    def local(self) -> bool:
        """Due times depend on each recipient's time zone."""
        return self.send_local_time is not None


def zone_of(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recipient_zone(profile_zone: str, campaign_zone: str) -> ZoneInfo:
    """The profile's zone when it is a valid IANA name, else the campaign's, else UTC."""
    return zone_of(profile_zone) or zone_of(campaign_zone) or ZoneInfo("UTC")


def next_local(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant at or after `after` whose wall-clock time in `zone` is `at` (UTC)."""
    day = after.astimezone(zone).date()
    while True:  # today's occurrence, else tomorrow's: the loop ends by the second day
        candidate = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)
        if candidate >= after:
            return candidate
        day += timedelta(days=1)


def paced_offset(pacing: Pacing, index: int, total: int, window: timedelta | None) -> timedelta:
    """How long after the start message `index` of `total` is due under `pacing` over `window`."""
    if pacing is Pacing.NONE or window is None or window <= timedelta(0) or total <= 0:
        return timedelta(0)
    micros = window // _MICRO
    if pacing is Pacing.EVEN:
        return timedelta(microseconds=micros * index // total)
    return timedelta(microseconds=micros * index * index // (total * total))  # FRONT_LOADED


def planned_offset(index: int, total: int, options: SendOptions, window: timedelta | None) -> timedelta:
    """Pacing and throttle together (local time aside): how long after the start message `index` is due."""
    paced = paced_offset(options.pacing, index, total, window)
    n = options.max_sends_per_hour
    if n <= 0:
        return paced
    chain_start = paced_offset(options.pacing, index % n, total, window)
    return max(paced, chain_start + (index // n) * HOUR)


def due_time(start: datetime, end: datetime | None, index: int, total: int, options: SendOptions,
             profile_zone: str = "") -> datetime | None:
    """When message `index` of `total` of a launch that started at `start` (its window ending at `end`, if
    any) is due; None for as soon as allowed."""
    if not options.planned:
        return None
    if options.send_local_time is not None:
        return next_local(start, options.send_local_time, recipient_zone(profile_zone, options.time_zone))
    window = end - start if end is not None else None
    return start + planned_offset(index, total, options, window)
