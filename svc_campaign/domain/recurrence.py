"""Recurring campaigns: an RFC 5545 RRULE (`FREQ=DAILY;BYHOUR=9;BYMINUTE=0`)
read in the campaign's time zone, with DTSTART = `schedule.start_time` and
`schedule.end_time` as an upper bound. Pure (python-dateutil evaluates the
rule).

The rule is evaluated on the campaign's wall clock (DTSTART as a local time
without offset), so "every day at 09:00 Europe/Paris" stays at 09:00 across
daylight-saving changes; each local occurrence is then placed in UTC as RFC
5545 says: an ambiguous time (the hour repeated in autumn) is its first
instance, a time in the spring gap is read with the offset before the gap.
Occurrences that land on, or before, an instant already given (the gap folds
two local times onto one instant) are skipped, so the instants are strictly
increasing and each fires once.

Refused (InvalidArgument on `campaign.schedule.recurrence`): syntax errors,
parts that are not RRULE parts (DTSTART, RDATE, EXRULE, EXDATE belong to the
event, not to the rule), COUNT with UNTIL, a rule that never fires within the
window, and a rule whose occurrences come closer than every 5 minutes (the
smallest gap between consecutive occurrences over a sample of them, not only
FREQ).

Known limit: the next occurrence after an instant is found by walking the
rule from DTSTART (dateutil has no other way), so the cost grows with the
number of occurrences since the start; the scheduler does it once per run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from svc_kit.errors import FieldViolation, InvalidArgument

FIELD = "campaign.schedule.recurrence"
MIN_GAP = timedelta(minutes=5)
SAMPLE = 500  # occurrences whose gaps are checked
MAX_LENGTH = 500
RULE_PARTS = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
                        "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"})
EVENT_PARTS = frozenset({"DTSTART", "DTEND", "RDATE", "EXRULE", "EXDATE", "RRULE", "TZID", "DURATION"})
FREQUENCIES = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
DAY_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY")
_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
_NAME = re.compile(r"[A-Z-]+")
# Sub-daily frequencies walk day by day through days no filter lets through; a rule whose day filters let
# no day through would walk to year 9999 first, so the day filters are tried alone as a yearly rule.
_SUB_DAILY = frozenset({"DAILY", "HOURLY", "MINUTELY", "SECONDLY"})


def _refuse(description: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation(FIELD, description))


def _parts(text: str) -> list[tuple[str, str]]:
    """The rule's NAME=VALUE parts, upper-cased; InvalidArgument for anything that is not a bare RRULE."""
    if len(text) > MAX_LENGTH:
        raise _refuse(f"at most {MAX_LENGTH} characters, got {len(text)}")
    body = text.strip()
    if "\n" in body or "\r" in body:
        raise _refuse("one RRULE only, such as FREQ=DAILY;BYHOUR=9;BYMINUTE=0 (DTSTART is schedule.start_time; "
                      "RDATE, EXRULE and EXDATE are not supported)")
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    if ":" in body:
        name = body.split(":", 1)[0].strip().upper()
        raise _refuse(f"{name} is not allowed: give only the RRULE parts (DTSTART is schedule.start_time, "
                      "read in schedule.time_zone)")
    parts: list[tuple[str, str]] = []
    seen: set[str] = set()
    for piece in body.split(";"):
        if not piece.strip():
            raise _refuse(f"empty part in {text!r}: parts are NAME=VALUE joined by ';'")
        name, equals, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if name in EVENT_PARTS:
            raise _refuse(f"{name} is not allowed: give only the RRULE parts (DTSTART is schedule.start_time, "
                          "read in schedule.time_zone; RDATE, EXRULE and EXDATE are not supported)")
        if not equals or not _NAME.fullmatch(name) or not value:
            raise _refuse(f"{piece.strip()!r} is not a NAME=VALUE part")
        if name not in RULE_PARTS:
            raise _refuse(f"unknown RRULE part {name}; known: {', '.join(sorted(RULE_PARTS))}")
        if name in seen:
            raise _refuse(f"{name} is given twice")
        seen.add(name)
        parts.append((name, value))
    given = dict(parts)
    if "FREQ" not in given:
        raise _refuse("FREQ is required (SECONDLY, MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)")
    if given["FREQ"] not in FREQUENCIES:
        raise _refuse(f"FREQ={given['FREQ']} is not one of {', '.join(sorted(FREQUENCIES))}")
    if "COUNT" in given and "UNTIL" in given:
        raise _refuse("COUNT and UNTIL cannot both be given")
    for name in ("COUNT", "INTERVAL"):
        if name in given and (not given[name].isdigit() or int(given[name]) < 1):
            raise _refuse(f"{name} must be a positive whole number, got {given[name]}")
    return parts


def _until(value: str, zone: ZoneInfo) -> datetime:
    """UNTIL as a UTC instant (inclusive): a UTC date-time (…Z), a local date-time in the campaign's zone,
    or a date (the whole local day)."""
    match = _UNTIL.fullmatch(value)
    if match is None:
        raise _refuse(f"UNTIL={value} is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSSZ)")
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        if hour is None:
            local = datetime(int(year), int(month), int(day)) + timedelta(days=1) - timedelta(microseconds=1)
            return local.replace(tzinfo=zone).astimezone(UTC)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise _refuse(f"UNTIL={value} is not a valid date") from None
    return moment.replace(tzinfo=UTC) if utc else moment.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Recurrence:
    """A validated rule of one campaign. Build it with `Recurrence.parse`."""

    rule: str  # as given
    start: datetime  # DTSTART (UTC)
    zone: ZoneInfo
    end: datetime | None = None  # schedule.end_time: occurrences lie before it
    until: datetime | None = None  # UNTIL (UTC, inclusive)
    _rule: rrule | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, rule: str, start: datetime, time_zone: str, end: datetime | None = None) -> Recurrence:
        """Parses and validates `rule`; InvalidArgument naming campaign.schedule.recurrence when it is refused."""
        parts = _parts(rule)
        try:
            zone = ZoneInfo(time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")  # the zone's own violation is reported on schedule.time_zone
        given = dict(parts)
        until = _until(given["UNTIL"], zone) if "UNTIL" in given else None
        local_start = start.astimezone(zone).replace(tzinfo=None)
        text = ";".join(f"{name}={value}" for name, value in parts if name != "UNTIL")
        try:
            evaluated = rrulestr(text, dtstart=local_start)
        except ValueError as problem:
            if "empty set" in str(problem):
                raise _refuse(f"{rule!r} never fires: its BYxxx parts leave no time to fire at") from None
            raise _refuse(f"{rule!r} is not a valid RRULE: {problem}") from None
        if given["FREQ"] in _SUB_DAILY:
            days = [f"{n}={v}" for n, v in parts if n in DAY_FILTERS]
            if days and rrulestr(";".join(["FREQ=YEARLY", *days]), dtstart=local_start.replace(
                    hour=0, minute=0, second=0, microsecond=0)).after(local_start.replace(
                    hour=0, minute=0, second=0, microsecond=0), inc=True) is None:
                raise _refuse(f"{rule!r} never fires: no day matches {';'.join(days)}")
        # DTSTART has whole seconds (RFC 5545): a start at 09:00:00.4 fires its first occurrence at 09:00:00
        recurrence = cls(rule, start.astimezone(UTC).replace(microsecond=0), zone, end, until, evaluated)
        recurrence._check()
        return recurrence

    def _check(self) -> None:
        first = previous = None
        smallest: tuple[timedelta, datetime, datetime] | None = None
        for count, occurrence in enumerate(self.occurrences()):
            if first is None:
                first = occurrence
            elif smallest is None or occurrence - previous < smallest[0]:
                smallest = (occurrence - previous, previous, occurrence)
            previous = occurrence
            if count + 1 >= SAMPLE:
                break
        if first is None:
            window = self._window()
            raise _refuse(f"{self.rule!r} never fires {window}")
        if smallest is not None and smallest[0] < MIN_GAP:
            gap, a, b = smallest
            raise _refuse(f"{self.rule!r} fires more often than every {_minutes(MIN_GAP)}: "
                          f"{_local(a, self.zone)} and {_local(b, self.zone)} are {_minutes(gap)} apart")

    def _window(self) -> str:
        since = f"from {_local(self.start, self.zone)}"
        bounds = [b for b in (self.end, self.until) if b is not None]
        return f"{since} to {_local(min(bounds), self.zone)}" if bounds else since

    def occurrences(self, after: datetime | None = None) -> Iterator[datetime]:
        """The occurrences (UTC), strictly increasing, strictly after `after` (from DTSTART when None)."""
        assert self._rule is not None
        if after is None:
            local_from = self.start.astimezone(self.zone).replace(tzinfo=None)
        else:  # a day earlier, so the skipping of folded instants sees the same run-up
            local_from = (after.astimezone(self.zone) - timedelta(days=1)).replace(tzinfo=None)
            local_from = max(local_from, self.start.astimezone(self.zone).replace(tzinfo=None))
        last: datetime | None = None
        for local in self._rule.xafter(local_from, inc=True):
            instant = local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
            if (self.end is not None and instant >= self.end) or (self.until is not None and instant > self.until):
                return
            if instant < self.start or (last is not None and instant <= last):
                continue
            last = instant
            if after is None or instant > after:
                yield instant

    def first(self) -> datetime | None:
        return next(self.occurrences(), None)

    def next_after(self, instant: datetime) -> datetime | None:
        """The first occurrence strictly after `instant`, or None when the rule has no more."""
        return next(self.occurrences(instant), None)

    def latest(self, after: datetime | None, now: datetime) -> datetime | None:
        """The newest occurrence in (after, now]: the one run to fire when several were missed."""
        found = None
        for occurrence in self.occurrences(after):
            if occurrence > now:
                break
            found = occurrence
        return found


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def _minutes(gap: timedelta) -> str:
    seconds = int(gap.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


@lru_cache(maxsize=1024)
def _parsed(rule: str, start: datetime, time_zone: str, end: datetime | None) -> Recurrence:
    return Recurrence.parse(rule, start, time_zone, end)


def recurrence(rule: str, start: datetime, time_zone: str, end: datetime | None = None) -> Recurrence:
    """Recurrence.parse, remembered for the same arguments (the scheduler and the upkeep ask often)."""
    return _parsed(rule, start, time_zone, end)


@lru_cache(maxsize=4096)
def next_occurrence(rule: str, start: datetime, time_zone: str, end: datetime | None,
                    after: datetime | None) -> datetime | None:
    """The rule's first occurrence (after None) or its first strictly after `after`, remembered: the
    scheduler and the upkeep ask the same question of a running campaign until its next run fires."""
    found = recurrence(rule, start, time_zone, end)
    return found.first() if after is None else found.next_after(after)


def violations(rule: str, start: datetime | None, time_zone: str, end: datetime | None) -> list[FieldViolation]:
    """What is wrong with a campaign's rule. Without a start time yet only the rule's own form and its
    gaps are checked (against a start at the beginning of 2030, in the campaign's zone)."""
    if not rule:
        return []
    try:
        recurrence(rule, start or datetime(2030, 1, 1, tzinfo=UTC), time_zone, end if start else None)
    except InvalidArgument as refused:
        return refused.violations
    return []


__all__ = ["FIELD", "MIN_GAP", "Recurrence", "next_occurrence", "recurrence", "violations"]
