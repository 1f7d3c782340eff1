"""ListEvents and AggregateEvents: the filter parsed into an EventQuery, pages by keyset
(listing: newest first by (event_time, event_id)) or by offset (aggregation rows)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_analytics.domain.model import AggregateRow, StoredEvent
from svc_analytics.service_layer.event_filter import parse_event_filter, within
from svc_analytics.service_layer.ports import DIMENSIONS, GRANULARITIES, EventQuery, EventStore

Clock = Callable[[], datetime]
MAX_INTERVAL = timedelta(days=400)
DEFAULT_ROWS, MAX_ROWS = 1000, 10_000


def _query(workspace: str, filter_: str) -> EventQuery:
    """The filter's query with resource names (`workspaces/{w}/profiles/{p}`) cut to the bare ids the store keeps."""
    query = parse_event_filter(workspace, filter_)
    cut = {}
    for field, collection in (("profile", "profiles"), ("campaign", "campaigns"), ("message", "messages")):
        prefix = f"workspaces/{workspace}/{collection}/"
        value = getattr(query, field)
        if value.startswith(prefix):
            cut[field] = value[len(prefix):]
    return dataclasses.replace(query, **cut) if cut else query


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_page_token: str


def list_events(store: EventStore, workspace: str, filter_: str = "", page_size: int = 0,
                page_token: str = "") -> EventPage:
    size = pagination.page_size(page_size)
    query = _query(workspace, filter_)
    query_key = pagination.fingerprint(workspace, "events", filter_)
    position = pagination.decode_token(page_token, query_key)
    after = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(position[0]), str(position[1]))
        except (IndexError, TypeError, ValueError):
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued")) from None
    rows = store.list(query, size + 1, after)
    page = rows[:size]
    token = ""
    if len(rows) > size:
        token = pagination.encode_token([page[-1].event_time.isoformat(), page[-1].event_id], query_key)
    return EventPage(page, token)


@dataclass(frozen=True)
class AggregatePage:
    rows: list[AggregateRow]
    next_page_token: str
    data_time: datetime


def aggregate_events(store: EventStore, workspace: str, start: datetime | None, end: datetime | None,
                     granularity: str, group_by: Sequence[str], time_zone: str, filter_: str, clock: Clock,
                     page_size: int = 0, page_token: str = "") -> AggregatePage:
    if start is None or end is None:
        raise InvalidArgument(FieldViolation("interval", "required: start_time and end_time"))
    if end <= start:
        raise InvalidArgument(FieldViolation("interval.end_time", "must be after start_time"))
    if end - start > MAX_INTERVAL:
        raise InvalidArgument(FieldViolation("interval", f"at most {MAX_INTERVAL.days} days"))
    granularity = granularity or "DAY"
    if granularity not in GRANULARITIES:
        raise InvalidArgument(FieldViolation("granularity", f"one of {', '.join(GRANULARITIES)}"))
    problems = [FieldViolation(f"group_by[{i}]", f"one of {', '.join(DIMENSIONS)}; each at most once")
                for i, d in enumerate(group_by) if d not in DIMENSIONS or d in group_by[:i]]
    if problems:
        raise InvalidArgument(problems)
    time_zone = time_zone or "UTC"
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(FieldViolation("time_zone", f"{time_zone!r} is not an IANA time zone")) from None
    if page_size < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    size = min(page_size or DEFAULT_ROWS, MAX_ROWS)
    query = within(_query(workspace, filter_), start, end)
    query_key = pagination.fingerprint(workspace, "aggregate", start.isoformat(), end.isoformat(), granularity,
                                       list(group_by), time_zone, filter_)
    position = pagination.decode_token(page_token, query_key)
    offset = 0
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], int) or position[0] < 0:
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        offset = position[0]
    data_time = clock()
    rows = store.aggregate(query, granularity, list(group_by), time_zone, size + 1, offset)
    token = pagination.encode_token([offset + size], query_key) if len(rows) > size else ""
    return AggregatePage(rows[:size], token, data_time)
