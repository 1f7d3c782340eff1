"""Syncs (a segment exported to a destination over a connection) and their runs, and the diff
an incremental run sends: the segment's live membership against the members the destination
holds as the sync sent them (`Held`). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from svc_kit.errors import Aborted, FailedPrecondition, FieldViolation

from svc_integrations.domain.connectors import Member

ACTIVE, PAUSED = "ACTIVE", "PAUSED"
INCREMENTAL, FULL = "INCREMENTAL", "FULL"
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
FINAL = (SUCCEEDED, FAILED, CANCELLED)
MANUAL, SCHEDULE = "MANUAL", "SCHEDULE"
ADD, REMOVE, CHANGE = "add", "remove", "change"  # the rows of a diff
MAX_RECORD_ERRORS = 100

_EVERY = re.compile(r"every\s+(\d+)\s*(m|min|minutes?|h|hours?|d|days?)", re.IGNORECASE)
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=31)


def parse_schedule(schedule: str) -> timedelta | None:
    """`every 15m`, `every 2h`, `every 1d` (also `every 30 minutes`): the interval between
    scheduled runs; None for "" (on demand only). ValueError with the reason otherwise."""
    text = schedule.strip()
    if not text:
        return None
    match = _EVERY.fullmatch(text)
    if match is None:
        raise ValueError("use `every N` followed by m, h or d (for example `every 15m`), or leave it empty "
                         "for on-demand runs only")
    count, unit = int(match.group(1)), match.group(2)[0].lower()
    interval = {"m": timedelta(minutes=count), "h": timedelta(hours=count), "d": timedelta(days=count)}[unit]
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ValueError("the interval must be between 1 minute and 31 days")
    return interval


def schedule_violations(schedule: str, field_name: str) -> list[FieldViolation]:
    try:
        parse_schedule(schedule)
    except ValueError as error:
        return [FieldViolation(field_name, str(error))]
    return []


def next_run(schedule: str, after: datetime) -> datetime | None:
    interval = parse_schedule(schedule)
    return None if interval is None else after + interval


@dataclass(frozen=True)
class Sync:
    workspace: str
    connection_id: str
    id: str
    display_name: str
    segment_id: str
    remote_object: str
    mode: str
    schedule: str
    state: str
    create_time: datetime
    update_time: datetime
    version: int = 1
    field_mappings: tuple[tuple[str, str], ...] = ()
    time_zone: str = ""
    last_run_id: str = ""
    next_run_time: datetime | None = None
    last_success_time: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def connection_name(self) -> str:
        return f"workspaces/{self.workspace}/connections/{self.connection_id}"

    @property
    def name(self) -> str:
        return f"{self.connection_name}/syncs/{self.id}"

    @property
    def segment(self) -> str:
        return f"workspaces/{self.workspace}/segments/{self.segment_id}"

    @property
    def etag(self) -> str:
        return f"v{self.version}"

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag!r} (now {self.etag!r}); read it again")

    def paused(self, now: datetime) -> Sync:
        if self.state == PAUSED:
            return self
        return replace(self, state=PAUSED, next_run_time=None, update_time=now, version=self.version + 1)

    def resumed(self, now: datetime) -> Sync:
        if self.state == ACTIVE:
            return self
        return replace(self, state=ACTIVE, next_run_time=next_run(self.schedule, now), update_time=now,
                       version=self.version + 1)

    def require_runnable(self) -> None:
        if self.state == PAUSED:
            raise FailedPrecondition(f"{self.name} is paused; resume it to run it")


@dataclass(frozen=True)
class RecordError:
    record_id: str
    reason: str
    field: str = ""


@dataclass(frozen=True)
class SyncRun:
    workspace: str
    connection_id: str
    sync_id: str
    id: str
    state: str
    trigger: str
    full_resync: bool
    create_time: datetime
    update_time: datetime
    version: int = 1
    request_id: str = ""
    total: int = 0
    done: int = 0
    added: int = 0
    removed: int = 0
    failed: int = 0
    record_errors: tuple[RecordError, ...] = ()
    error_code: str = ""  # a svc_kit error class name: Unavailable, FailedPrecondition, NotFound, Internal
    error_message: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    attempts: int = 0
    not_before: datetime | None = None
    lease_owner: str = ""
    lease_until: datetime | None = None

    @property
    def sync_name(self) -> str:
        return f"workspaces/{self.workspace}/connections/{self.connection_id}/syncs/{self.sync_id}"

    @property
    def name(self) -> str:
        return f"{self.sync_name}/runs/{self.id}"

    @property
    def etag(self) -> str:
        return f"v{self.version}"

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True)
class Held:
    """One member of a sync's synced set: a profile the destination holds (or may hold) with the
    identifiers as they were sent, so that its removal can be sent after the profile changed or was
    erased. `confirmed` is False while a push that names it is under way (or ended without saying
    what the destination took): the next diff sends it again, as an add if the profile is a live
    member, as a remove otherwise."""

    profile_id: str
    email: str | None = None
    phone: str | None = None
    confirmed: bool = True

    def member(self) -> Member:
        return Member(profile_id=self.profile_id, email=self.email, phone=self.phone)


@dataclass(frozen=True)
class Change:
    """An identifier change: `old` (as held) is removed, then `new` (live) added."""

    old: Member
    new: Member


@dataclass(frozen=True)
class Diff:
    removes: tuple[Member, ...] = ()
    changes: tuple[Change, ...] = ()
    adds: tuple[Member, ...] = ()

    @property
    def rows(self) -> list[tuple[str, Member | Change]]:
        """The diff's rows in the order a run sends them: removes, identifier changes, adds."""
        return [*((REMOVE, m) for m in self.removes), *((CHANGE, c) for c in self.changes),
                *((ADD, m) for m in self.adds)]

    def __len__(self) -> int:
        return len(self.removes) + len(self.changes) + len(self.adds)


def _identifiers(email: str | None, phone: str | None) -> tuple[str, str]:
    return (email or "", phone or "")


def diff(held: Mapping[str, Held], live: Iterable[Member]) -> Diff:
    """What the destination must be told so that it holds exactly the live members: adds (live,
    not held, or held unconfirmed), removes (held, not live: with the held identifiers) and
    identifier changes (held with another email or phone than the live profile's). A profile
    listed twice in `live` counts once (the first)."""
    seen: set[str] = set()
    adds: list[Member] = []
    changes: list[Change] = []
    for member in live:
        if member.profile_id in seen:
            continue
        seen.add(member.profile_id)
        kept = held.get(member.profile_id)
        if kept is None:
            adds.append(member)
        elif _identifiers(kept.email, kept.phone) != _identifiers(member.email, member.phone):
            changes.append(Change(kept.member(), member))
        elif not kept.confirmed:
            adds.append(member)
    removes = [kept.member() for profile, kept in sorted(held.items()) if profile not in seen]
    return Diff(tuple(removes), tuple(changes), tuple(adds))


def capped_errors(existing: tuple[RecordError, ...], more: list[RecordError]) -> tuple[RecordError, ...]:
    room = MAX_RECORD_ERRORS - len(existing)
    return existing + tuple(more[:max(room, 0)])
