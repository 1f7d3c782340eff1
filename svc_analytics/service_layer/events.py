"""Reading events: GetEvent, ListEvents (newest first, keyset pages) and
AggregateEvents (time buckets grouped by dimensions, offset pages)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound
from svc_kit.names import format_name

from svc_analytics.domain.model import AggregateRow, StoredEvent
from svc_analytics.service_layer.event_filter import parse_event_filter
from svc_analytics.service_layer.ports import DIMENSIONS, GRANULARITIES, EventQuery, EventStore
from svc_analytics.service_layer.time_range import check_bounds

MAX_AGGREGATE_INTERVAL = timedelta(days=400)
DEFAULT_AGGREGATE_ROWS = 1000
MAX_AGGREGATE_ROWS = 10_000
DEFAULT_GRANULARITY = "DAY"


def _not_a_token() -> InvalidArgument:
    return InvalidArgument(FieldViolation("page_token", "not a token this service issued"))


def _query_key(query: EventQuery, *extra: object) -> str:
    described = {k: (v.isoformat() if isinstance(v, datetime) else v.value if hasattr(v, "value") else v)
                 for k, v in dataclasses.asdict(query).items()}
    return pagination.fingerprint(described, *extra)


def get_event(store: EventStore, workspace: str, event_id: str) -> StoredEvent:
    event = store.get(workspace, event_id)
    if event is None:
        raise NotFound(format_name(workspace, "events", event_id))
    return event


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_page_token: str


def list_events(store: EventStore, workspace: str, *, page_size: int = 0, page_token: str = "",
                filter_: str = "") -> EventPage:
    query = parse_event_filter(workspace, filter_)
    page, token = pagination.timed_keyset_page(lambda after, limit: store.list(query, limit, after),
                                               lambda e: (e.event_time, e.event_id), page_size, page_token,
                                               _query_key(query))
    return EventPage(page, token)


@dataclass(frozen=True)
class AggregatePage:
    rows: list[AggregateRow]
    next_page_token: str
    data_time: datetime


def aggregate_events(store: EventStore, workspace: str, start: datetime | None, end: datetime | None, *,
                     data_time: datetime, granularity: str = "", time_zone: str = "",
                     group_by: tuple[str, ...] = (), filter_: str = "", page_size: int = 0,
                     page_token: str = "") -> AggregatePage:
    """Counts per bucket of `granularity` (HOUR, DAY, WEEK, MONTH, TOTAL; DAY when empty) in
    `time_zone` (UTC when empty), grouped by `group_by` (type, campaign, channel, variant)."""
    if start is None or end is None or end <= start:
        raise InvalidArgument(FieldViolation("interval", "required: a start_time before the end_time"))
    check_bounds(start, end)
    if end - start > MAX_AGGREGATE_INTERVAL:
        raise InvalidArgument(FieldViolation("interval", f"at most {MAX_AGGREGATE_INTERVAL.days} days"))
    granularity = granularity or DEFAULT_GRANULARITY
    if granularity not in GRANULARITIES:
        raise InvalidArgument(FieldViolation("granularity", f"one of {', '.join(GRANULARITIES)}"))
    try:
        ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(FieldViolation("time_zone", f"{time_zone!r} is not an IANA time zone")) from None
    for i, dimension in enumerate(group_by):
        if dimension not in DIMENSIONS:
            raise InvalidArgument(FieldViolation(f"group_by[{i}]", f"one of {', '.join(DIMENSIONS)}"))
        if dimension in group_by[:i]:
            raise InvalidArgument(FieldViolation(f"group_by[{i}]", f"{dimension} is listed twice"))
    if page_size < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    size = min(page_size or DEFAULT_AGGREGATE_ROWS, MAX_AGGREGATE_ROWS)
    query = parse_event_filter(workspace, filter_, allowed=("profile", "type", "campaign", "channel", "message",
                                                             "variant"))
    query = dataclasses.replace(query, start=start, end=end)
    key = _query_key(query, granularity, time_zone or "UTC", list(group_by))
    position = pagination.decode_token(page_token, key)
    offset = 0
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], int) or position[0] < 0:
            raise _not_a_token()
        offset = position[0]
    rows = store.aggregate(query, granularity, list(group_by), time_zone or "UTC", size + 1, offset)
    page = rows[:size]
    token = pagination.encode_token([offset + size], key) if len(rows) > size else ""
    return AggregatePage(page, token, data_time)


EXPORT_PAGE = 1000


def profile_events(workspace: str, profile: str, store: EventStore) -> list[StoredEvent]:
    """Every event stored for one profile of one workspace, newest first (an access request)."""
    query = EventQuery(workspace, profile=profile)
    found: list[StoredEvent] = []
    after = None
    while True:
        page = store.list(query, EXPORT_PAGE, after)
        found += page
        if len(page) < EXPORT_PAGE:
            return found
        after = (page[-1].event_time, page[-1].event_id)
