"""An in-memory EventStore (svc_analytics.service_layer.ports) for unit tests,
faithful to the port: rows are kept as inserted (a duplicate that slips past
existing_ids is stored twice) and every count is of DISTINCT event ids, as the
ClickHouse adapters count with uniqExact/uniq states. `asynchronous_erasure`
holds erasures back until `complete_erasures()`, as ALTER ... DELETE on
ClickHouse 18.16 does. FakeUnitOfWork keeps funnels and erasure records in
memory, visible only once committed."""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from svc_kit.errors import Aborted, AlreadyExists

from svc_analytics.domain.erasure import Erasure
from svc_analytics.domain.funnel import Funnel
from svc_analytics.domain.model import CLICKED, AggregateRow, MetricRow, StoredEvent
from svc_analytics.service_layer.ports import EventQuery
from svc_analytics.service_layer.unit_of_work import ErasureRepository, FunnelRepository, UnitOfWork


def _matches(event: StoredEvent, query: EventQuery, times: bool = True) -> bool:
    return (event.workspace == query.workspace
            and (not times or query.start is None or event.event_time >= query.start)
            and (not times or query.end is None or event.event_time < query.end)
            and (not query.types or event.type in query.types)
            and (not query.profile or event.profile == query.profile)
            and (not query.campaign or event.campaign == query.campaign)
            and (query.channel is None or event.channel == query.channel)
            and (not query.variant or event.variant == query.variant)
            and (not query.message or event.message == query.message))


def _distinct(events) -> list[StoredEvent]:
    """One row per (workspace, event id): the first stored."""
    seen: dict[tuple[str, str], StoredEvent] = {}
    for event in events:
        seen.setdefault((event.workspace, event.event_id), event)
    return list(seen.values())


def _bucket_start(time: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    local = time.astimezone(zone)
    if granularity == "HOUR":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif granularity == "DAY":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif granularity == "WEEK":
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
    else:  # MONTH
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)


def _bucket_end(start: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    local = start.astimezone(zone).replace(tzinfo=None)
    if granularity == "HOUR":
        return start + timedelta(hours=1)
    if granularity == "DAY":
        end = local + timedelta(days=1)
    elif granularity == "WEEK":
        end = local + timedelta(days=7)
    else:
        end = local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    return end.replace(tzinfo=zone).astimezone(UTC)


class InMemoryEventStore:
    def __init__(self, asynchronous_erasure: bool = False):
        self.rows: list[StoredEvent] = []
        self.inserts: list[list[StoredEvent]] = []  # each insert call's batch, for batching tests
        self.existing_id_queries = 0
        self.migrated = 0
        self.asynchronous_erasure = asynchronous_erasure
        self.pending_erasures: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    # -- writes -------------------------------------------------------------------------------------------

    def migrate(self) -> None:
        self.migrated += 1

    def insert(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            self.rows.extend(events)
            self.inserts.append(list(events))

    def existing_ids(self, workspace: str, event_ids: Sequence[str]) -> set[str]:
        with self._lock:
            self.existing_id_queries += 1
            wanted = set(event_ids)
            return {e.event_id for e in self.rows if e.workspace == workspace and e.event_id in wanted}

    def erase_profile(self, workspace: str, profile: str) -> None:
        with self._lock:
            self.pending_erasures.append((workspace, profile))
        if not self.asynchronous_erasure:
            self.complete_erasures()

    def complete_erasures(self) -> None:
        with self._lock:
            for workspace, profile in self.pending_erasures:
                self.rows = [e for e in self.rows if not (e.workspace == workspace and e.profile == profile)]
            self.pending_erasures.clear()

    # -- reads --------------------------------------------------------------------------------------------

    def _snapshot(self) -> list[StoredEvent]:
        with self._lock:
            return list(self.rows)

    def profile_event_count(self, workspace: str, profile: str) -> int:
        return len(_distinct(e for e in self._snapshot() if e.workspace == workspace and e.profile == profile))

    def get(self, workspace: str, event_id: str) -> StoredEvent | None:
        return next((e for e in self._snapshot() if e.workspace == workspace and e.event_id == event_id), None)

    def list(self, query: EventQuery, limit: int, after: tuple[datetime, str] | None = None) -> list[StoredEvent]:
        events = sorted(_distinct(e for e in self._snapshot() if _matches(e, query)),
                        key=lambda e: (e.event_time, e.event_id), reverse=True)
        if after is not None:
            events = [e for e in events if (e.event_time, e.event_id) < after]
        return events[:limit]

    def campaign_metrics(self, workspace: str, campaign: str, start: datetime | None,
                         end: datetime | None) -> list[MetricRow]:
        query = EventQuery(workspace, start=start, end=end, campaign=campaign)
        groups: dict[tuple, list[StoredEvent]] = defaultdict(list)
        for event in _distinct(e for e in self._snapshot() if _matches(e, query)):
            groups[(event.type, event.channel, event.variant, event.provider)].append(event)
        rows = []
        for (type_, channel, variant, provider), events in groups.items():
            human = [e for e in events if not e.machine]
            revenue: dict[str, int] = defaultdict(int)
            for e in events:
                if e.currency:
                    revenue[e.currency] += e.value_micros
            rows.append(MetricRow(type_, channel, variant, provider, len(events),
                                  len({e.profile for e in events if e.profile}), len(human),
                                  len({e.profile for e in human if e.profile}), dict(revenue)))
        return sorted(rows, key=lambda r: (r.type, r.channel.value if r.channel else "", r.variant, r.provider))

    def last_click(self, workspace: str, profile: str, before: datetime, window: timedelta) -> StoredEvent | None:
        clicks = [e for e in self._snapshot()
                  if e.workspace == workspace and e.profile == profile and e.type == CLICKED and not e.machine
                  and e.campaign and before - window <= e.event_time <= before]
        return max(clicks, key=lambda e: (e.event_time, e.event_id), default=None)

    def aggregate(self, query: EventQuery, granularity: str, group_by: Sequence[str], time_zone: str,
                  limit: int, offset: int) -> list[AggregateRow]:
        zone = ZoneInfo(time_zone or "UTC")
        groups: dict[tuple, list[StoredEvent]] = defaultdict(list)
        for event in _distinct(e for e in self._snapshot() if _matches(e, query)):
            if granularity == "TOTAL":
                start = end = None
            else:
                start = _bucket_start(event.event_time, granularity, zone)
                end = _bucket_end(start, granularity, zone)
            key = (start, end,
                   event.type if "type" in group_by else "",
                   event.campaign if "campaign" in group_by else "",
                   event.channel if "channel" in group_by else None,
                   event.variant if "variant" in group_by else "")
            groups[key].append(event)
        rows = []
        for (start, end, type_, campaign, channel, variant), events in groups.items():
            values: dict[str, int] = defaultdict(int)
            for e in events:
                if e.currency:
                    values[e.currency] += e.value_micros
            rows.append(AggregateRow(start, end, type_, campaign, channel, variant, len(events),
                                     len({e.profile for e in events if e.profile}), dict(values)))
        rows.sort(key=lambda r: (r.start or datetime.min.replace(tzinfo=UTC), r.type, r.campaign,
                                 r.channel.value if r.channel else "", r.variant))
        return rows[offset:offset + limit]

    def funnel(self, query: EventQuery, steps: Sequence[str], window: timedelta) -> list[int]:
        """A profile reaches step i when it did steps 0..i in order (each after the previous one), all
        within `window` of step 0; step 0 must fall in [query.start, query.end), later steps may not."""
        by_profile: dict[str, list[StoredEvent]] = defaultdict(list)
        untimed = EventQuery(**{**query.__dict__, "start": None, "end": None, "types": tuple(steps)})
        for event in _distinct(e for e in self._snapshot() if _matches(e, untimed) and e.profile):
            by_profile[event.profile].append(event)
        reached = [0] * len(steps)
        for events in by_profile.values():
            events.sort(key=lambda e: (e.event_time, e.event_id))
            best = 0
            for start, first in enumerate(events):
                if first.type != steps[0] or not _matches(first, query):
                    continue
                depth, position = 1, start
                for step in steps[1:]:
                    position = next((i for i in range(position + 1, len(events)) if events[i].type == step
                                     and events[i].event_time <= first.event_time + window), None)
                    if position is None:
                        break
                    depth += 1
                best = max(best, depth)
            for i in range(best):
                reached[i] += 1
        return reached


class FakeFunnelRepository(FunnelRepository):
    """Funnels in a dict, copied in and out as a database would."""

    def __init__(self):
        self.rows: dict[tuple[str, str], tuple[Funnel, str, str]] = {}  # -> (funnel, request id, fingerprint)

    def add(self, funnel, request_id="", request_fingerprint=""):
        if (funnel.workspace, funnel.id) in self.rows:
            raise AlreadyExists(f"workspaces/{funnel.workspace}/funnels/{funnel.id} already exists")
        if request_id and self.find_by_request_id(funnel.workspace, request_id):
            raise AlreadyExists(f"request id {request_id!r} was used")
        self.rows[(funnel.workspace, funnel.id)] = (copy.deepcopy(funnel), request_id, request_fingerprint)

    def get(self, workspace, funnel_id):
        row = self.rows.get((workspace, funnel_id))
        return copy.deepcopy(row[0]) if row else None

    def find_by_request_id(self, workspace, request_id):
        for funnel, rid, fingerprint in self.rows.values():
            if funnel.workspace == workspace and rid == request_id:
                return copy.deepcopy(funnel), fingerprint
        return None

    def _check_version(self, funnel, expected_version):
        row = self.rows.get((funnel.workspace, funnel.id))
        if row is None or row[0].version != expected_version:
            raise Aborted(f"workspaces/{funnel.workspace}/funnels/{funnel.id} was changed by another request")
        return row

    def save(self, funnel, expected_version):
        row = self._check_version(funnel, expected_version)
        self.rows[(funnel.workspace, funnel.id)] = (copy.deepcopy(funnel), row[1], row[2])

    def remove(self, funnel, expected_version):
        self._check_version(funnel, expected_version)
        del self.rows[(funnel.workspace, funnel.id)]

    def list(self, workspace, where, after, limit):
        funnels = sorted((f for f, _, _ in self.rows.values() if f.workspace == workspace and where.matches(f)),
                         key=lambda f: (f.create_time, f.id))
        if after is not None:
            funnels = [f for f in funnels if (f.create_time, f.id) > after]
        return [copy.deepcopy(f) for f in funnels[:limit]]


class FakeErasureRepository(ErasureRepository):
    def __init__(self):
        self.rows: dict[tuple[str, str], Erasure] = {}

    def get(self, workspace, profile):
        return self.rows.get((workspace, profile))

    def put(self, erasure):
        self.rows[(erasure.workspace, erasure.profile)] = erasure


class FakeUnitOfWork(UnitOfWork):
    """Changes become visible only at commit (a rollback drops them), like a transaction."""

    def __init__(self):
        self.committed_funnels = FakeFunnelRepository()
        self.committed_erasures = FakeErasureRepository()
        self.commits = 0

    def __enter__(self):
        self.funnels = copy.deepcopy(self.committed_funnels)
        self.erasures = copy.deepcopy(self.committed_erasures)
        return self

    def commit(self):
        self.committed_funnels, self.committed_erasures = self.funnels, self.erasures
        self.funnels = copy.deepcopy(self.committed_funnels)
        self.erasures = copy.deepcopy(self.committed_erasures)
        self.commits += 1

    def rollback(self):
        pass
