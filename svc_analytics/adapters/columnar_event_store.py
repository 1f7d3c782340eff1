"""The EventStore on a columnar engine: one implementation over the SqlEngine seam, run on a
ClickHouse server (clickhouse-driver) or on chdb in-process, with the same SQL text on both.

What both engines share shapes the SQL: times are DateTime('UTC') with the microseconds in
*_us columns (no DateTime64 on 18.16), and precise comparisons use
`toUInt64(event_time) * 1000000 + event_us`; buckets come from toStartOfHour /
toStartOfDay / toMonday / toStartOfMonth with a time zone argument (no toStartOfInterval,
no WITH FILL: empty buckets are simply absent), returned as epoch seconds so neither client's
DateTime handling matters; lists and aggregates read each event id once (LIMIT 1 BY event_id)
so a duplicate that slipped through counts once; funnels use windowFunnel.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.channels import Channel

from svc_analytics.adapters.event_schema import CAMPAIGN_HOURLY_SELECT, EVENT_COLUMNS, migrate
from svc_analytics.adapters.sql_engines import SqlEngine, open_engine
from svc_analytics.adapters.sql_literals import date_time, epoch_micros, in_list, integer, string
from svc_analytics.domain.model import CLICKED, AggregateRow, MetricRow, StoredEvent
from svc_analytics.service_layer.ports import DIMENSIONS, GRANULARITIES, EventQuery

_SELECT_EVENT = ("SELECT workspace, event_id, type, toUInt32(event_time), event_us, toUInt32(receive_time), "
                 "receive_us, source, profile, campaign, channel, message, variant, provider, machine, attributed, "
                 "value_micros, currency, properties FROM events")
_IDS_PER_QUERY = 1000
_MICROS = "(toUInt64(event_time) * 1000000 + event_us)"

# Bucket start (epoch seconds) per granularity, in the time zone {tz}.
_BUCKETS = {
    "HOUR": "toUInt32(toStartOfHour(event_time, {tz}))",
    "DAY": "toUInt32(toStartOfDay(event_time, {tz}))",
    "WEEK": "toUInt32(toDateTime(toMonday(event_time, {tz}), {tz}))",
    "MONTH": "toUInt32(toDateTime(toStartOfMonth(event_time, {tz}), {tz}))",
}


def _channel_text(channel: Channel | None) -> str:
    return channel.value if channel is not None else ""


def _channel(text: str) -> Channel | None:
    return Channel(text) if text else None


def _utc(seconds: int, micros: int = 0) -> datetime:
    return datetime.fromtimestamp(int(seconds), timezone.utc).replace(microsecond=int(micros))


def _event(row: list) -> StoredEvent:
    (workspace, event_id, type_, event_s, event_us, receive_s, receive_us, source, profile, campaign, channel,
     message, variant, provider, machine, attributed, value_micros, currency, properties) = row
    return StoredEvent(
        workspace=workspace, event_id=event_id, type=type_, event_time=_utc(event_s, event_us),
        receive_time=_utc(receive_s, receive_us), source=source, profile=profile, campaign=campaign,
        channel=_channel(channel), message=message, variant=variant, provider=provider, machine=bool(int(machine)),
        attributed=bool(int(attributed)), value_micros=int(value_micros), currency=currency,
        properties=json.loads(properties) if properties else {})


def _row(event: StoredEvent) -> list:
    for name in ("event_time", "receive_time"):
        epoch_micros(getattr(event, name))  # aware and in range, else ValueError before anything is written
    return [event.workspace, event.event_id, event.type, event.event_time.astimezone(timezone.utc),
            event.event_time.microsecond, event.receive_time.astimezone(timezone.utc), event.receive_time.microsecond,
            event.source, event.profile, event.campaign, _channel_text(event.channel), event.message, event.variant,
            event.provider, int(event.machine), int(event.attributed), event.value_micros, event.currency,
            json.dumps(event.properties, ensure_ascii=True, sort_keys=True, separators=(",", ":"))]


def _time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def _bucket_end(start: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    """The start of the next bucket: one hour later, or the next local midnight / Monday / first of month."""
    if granularity == "HOUR":
        return start + timedelta(hours=1)
    local = start.astimezone(zone).replace(tzinfo=None)
    if granularity == "DAY":
        following = local + timedelta(days=1)
    elif granularity == "WEEK":
        following = local + timedelta(days=7)
    else:
        following = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    return following.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=zone).astimezone(timezone.utc)


class ColumnarEventStore:
    """svc_analytics.service_layer.ports.EventStore on a SqlEngine (ClickHouse server or chdb)."""

    def __init__(self, engine: SqlEngine, erase_wait: float = 10.0):
        self.engine = engine
        self.erase_wait = erase_wait  # seconds erase_profile waits for the report rows' deletion

    @classmethod
    def from_url(cls, url: str) -> ColumnarEventStore:
        """`clickhouse://host:port/database` or `chdb:///folder` (sql_engines.open_engine)."""
        return cls(open_engine(url))

    def close(self) -> None:
        self.engine.close()

    # -- writing --------------------------------------------------------------------------------------

    def migrate(self) -> None:
        migrate(self.engine)

    def insert(self, events: Sequence[StoredEvent]) -> None:
        self.engine.insert("events", EVENT_COLUMNS, [_row(e) for e in events])

    # -- reading events -------------------------------------------------------------------------------

    def existing_ids(self, workspace: str, event_ids: Sequence[str]) -> set[str]:
        wanted = sorted(set(event_ids))
        found: set[str] = set()
        # In slices: a ClickHouse server refuses query text over max_query_size (256 KiB by default).
        for first in range(0, len(wanted), _IDS_PER_QUERY):
            rows = self.engine.execute(
                f"SELECT DISTINCT event_id FROM events WHERE workspace = {string(workspace)} "
                f"AND event_id IN {in_list(wanted[first:first + _IDS_PER_QUERY])}")
            found.update(row[0] for row in rows)
        return found

    def get(self, workspace: str, event_id: str) -> StoredEvent | None:
        rows = self.engine.execute(f"{_SELECT_EVENT} WHERE workspace = {string(workspace)} "
                                   f"AND event_id = {string(event_id)} LIMIT 1")
        return _event(rows[0]) if rows else None

    def list(self, query: EventQuery, limit: int, after: tuple[datetime, str] | None = None) -> list[StoredEvent]:
        conditions = _conditions(query)
        if after is not None:
            after_time, after_id = after
            micros = epoch_micros(after_time)
            conditions.append(f"(event_time <= {date_time(after_time)} AND ({_MICROS} < {integer(micros)} OR "
                              f"({_MICROS} = {integer(micros)} AND event_id < {string(after_id)})))")
        rows = self.engine.execute(
            f"{_SELECT_EVENT} WHERE {' AND '.join(conditions)} "
            f"ORDER BY event_time DESC, event_us DESC, event_id DESC LIMIT 1 BY event_id LIMIT {integer(limit)}")
        return [_event(row) for row in rows]

    def profile_event_count(self, workspace: str, profile: str) -> int:
        rows = self.engine.execute(f"SELECT count() FROM events WHERE workspace = {string(workspace)} "
                                   f"AND profile = {string(profile)}")
        return int(rows[0][0])

    def last_click(self, workspace: str, profile: str, before: datetime, window: timedelta) -> StoredEvent | None:
        since = before - window
        rows = self.engine.execute(
            f"{_SELECT_EVENT} WHERE workspace = {string(workspace)} AND profile = {string(profile)} "
            f"AND type = {string(CLICKED)} AND machine = 0 AND campaign != '' "
            f"AND event_time >= {date_time(since.replace(microsecond=0))} AND event_time <= {date_time(before)} "
            f"AND {_MICROS} >= {integer(epoch_micros(since))} AND {_MICROS} <= {integer(epoch_micros(before))} "
            f"ORDER BY event_time DESC, event_us DESC, event_id DESC LIMIT 1")
        return _event(rows[0]) if rows else None

    # -- reports --------------------------------------------------------------------------------------

    def campaign_metrics(self, workspace: str, campaign: str, start: datetime | None,
                         end: datetime | None) -> list[MetricRow]:
        """Counts from campaign_hourly, revenue from campaign_revenue (each event id once), both at
        hour granularity: the hour holding `start` is included, and so is the hour holding `end`
        unless `end` is on the hour."""
        where = [f"workspace = {string(workspace)}", f"campaign = {string(campaign)}"]
        if start is not None:
            where.append(f"hour >= toStartOfHour({date_time(start)})")
        if end is not None:
            where.append(f"hour < {date_time(end)}")
        keys = "type, channel, variant, provider"
        counts = self.engine.execute(
            f"SELECT {keys}, uniqExactMerge(events), uniqExactIfMerge(profiles), uniqExactIfMerge(human_events), "
            f"uniqExactIfMerge(human_profiles) FROM campaign_hourly WHERE {' AND '.join(where)} "
            f"GROUP BY {keys} ORDER BY {keys}")
        revenue: dict[tuple, dict[str, int]] = {}
        revenue_where = where[:2]
        if start is not None:
            revenue_where.append(f"event_time >= toStartOfHour({date_time(start)})")
        if end is not None:
            revenue_where.append(f"toStartOfHour(event_time) < {date_time(end)}")
        for *key, currency, total in self.engine.execute(
                f"SELECT {keys}, currency, sum(value_micros) FROM (SELECT {keys}, currency, value_micros "
                f"FROM campaign_revenue WHERE {' AND '.join(revenue_where)} LIMIT 1 BY event_id) "
                f"GROUP BY {keys}, currency"):
            revenue.setdefault(tuple(key), {})[currency] = int(total)
        return [MetricRow(type=type_, channel=_channel(channel), variant=variant, provider=provider,
                          events=int(events), profiles=int(profiles), human_events=int(human_events),
                          human_profiles=int(human_profiles),
                          revenue_micros=revenue.get((type_, channel, variant, provider), {}))
                for type_, channel, variant, provider, events, profiles, human_events, human_profiles in counts]

    def aggregate(self, query: EventQuery, granularity: str, group_by: Sequence[str], time_zone: str,
                  limit: int, offset: int) -> list[AggregateRow]:
        if granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
        unknown = [d for d in group_by if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"cannot group by {', '.join(unknown)}; dimensions: {', '.join(DIMENSIONS)}")
        zone = _time_zone(time_zone)
        dimensions = [d for d in DIMENSIONS if d in group_by]
        bucket = _BUCKETS[granularity].format(tz=string(zone.key)) if granularity != "TOTAL" else "toUInt32(0)"
        keys = ["bucket", *dimensions]
        grouping = ", ".join(keys)
        # One row per event id: a duplicate that slipped through counts once, its value too.
        deduplicated = (f"(SELECT event_time, type, campaign, channel, variant, profile, currency, value_micros "
                        f"FROM events WHERE {' AND '.join(_conditions(query))}{{extra}} LIMIT 1 BY event_id)")
        selected = f"{bucket} AS bucket{''.join(', ' + d for d in dimensions)}"
        rows = self.engine.execute(
            f"SELECT {selected}, count(), uniqExactIf(profile, profile != '') "
            f"FROM {deduplicated.format(extra='')} "
            f"GROUP BY {grouping} ORDER BY {grouping} LIMIT {integer(offset)}, {integer(limit)}")
        if not rows:
            return []
        # Values per currency in rows of their own (18.16's sumMap takes numeric keys only), for the
        # page's buckets only.
        money: dict[tuple, dict[str, int]] = {}
        page_buckets = in_list(sorted({int(row[0]) for row in rows}))
        for *key, currency, total in self.engine.execute(
                f"SELECT {selected}, currency, sum(value_micros) "
                f"FROM {deduplicated.format(extra=' AND currency != ' + string(''))} "
                f"GROUP BY {grouping}, currency HAVING bucket IN {page_buckets}"):
            money.setdefault((int(key[0]), *key[1:]), {})[currency] = int(total)
        result = []
        for row in rows:
            values = dict(zip([*keys, "events", "profiles"], row, strict=True))
            start = end = None
            if granularity != "TOTAL":
                start = _utc(values["bucket"])
                end = _bucket_end(start, granularity, zone)
            result.append(AggregateRow(start=start, end=end, type=values.get("type", ""),
                                       campaign=values.get("campaign", ""), channel=_channel(values.get("channel", "")),
                                       variant=values.get("variant", ""), events=int(values["events"]),
                                       profiles=int(values["profiles"]),
                                       value_micros=money.get((int(row[0]), *row[1:len(keys)]), {})))
        return result

    def funnel(self, query: EventQuery, steps: Sequence[str], window: timedelta) -> list[int]:
        """windowFunnel per profile over the events matching `query` (its types are ignored: the
        steps are the types). Times count in whole seconds (18.16's windowFunnel takes DateTime)."""
        if not steps:
            return []
        seconds = max(int(window.total_seconds()), 0)
        conditions = _conditions(dataclasses.replace(query, types=()))
        conditions += ["profile != ''", f"type IN {in_list(sorted(set(steps)))}"]
        levels = self.engine.execute(
            f"SELECT level, count() FROM (SELECT profile, windowFunnel({integer(seconds)})(event_time, "
            f"{', '.join(f'type = {string(step)}' for step in steps)}) AS level FROM events "
            f"WHERE {' AND '.join(conditions)} GROUP BY profile) GROUP BY level")
        reached = {int(level): int(count) for level, count in levels}
        return [sum(count for level, count in reached.items() if level >= step) for step in range(1, len(steps) + 1)]

    # -- erasure --------------------------------------------------------------------------------------

    def erase_profile(self, workspace: str, profile: str) -> None:
        """Deletes the profile's events and takes them out of the campaign report.

        events and campaign_revenue (one row per event): `ALTER TABLE ... DELETE WHERE
        workspace AND profile`, mutations, asynchronous on 18.16, so callers poll
        profile_event_count until it is 0.

        campaign_hourly holds uniqExact states, from which one profile cannot be subtracted, so
        the groups its events fell in are rebuilt. The (campaign, hour) pairs of its campaign
        events are read first; those groups' rows are deleted from campaign_hourly (a mutation,
        waited for up to `erase_wait` seconds), then rebuilt from the events of those campaign
        hours, less the profile's, with the view's own SELECT (so the events mutation need not
        have run). A mutation only touches the parts that existed when it was issued, so the
        rebuilt rows are never deleted by it. Waiting for it first means the report stops
        counting the profile when this returns; past the wait the rebuild goes ahead anyway:
        old and rebuilt rows read together count as before the erasure (merged uniqExact
        states are a union), never more, until the mutation has run. Events of those hours
        arriving during the rebuild may sit in both the view's rows and the rebuilt ones:
        distinct counts stay right."""
        who = f"workspace = {string(workspace)} AND profile = {string(profile)}"
        touched = self.engine.execute(
            f"SELECT campaign, groupUniqArray(toUInt32(toStartOfHour(event_time))) FROM events "
            f"WHERE {who} AND campaign != '' GROUP BY campaign")
        self.engine.execute(f"ALTER TABLE events DELETE WHERE {who}")
        self.engine.execute(f"ALTER TABLE campaign_revenue DELETE WHERE {who}")
        if not touched:
            return
        groups = " OR ".join(
            f"(campaign = {string(campaign)} AND toUInt32(hour) IN {in_list(sorted(int(h) for h in hours))})"
            for campaign, hours in touched)
        self.engine.execute(f"ALTER TABLE campaign_hourly DELETE WHERE workspace = {string(workspace)} "
                            f"AND ({groups})")
        self.wait_for_mutations("campaign_hourly", self.erase_wait)
        source_groups = groups.replace("toUInt32(hour)", "toUInt32(toStartOfHour(event_time))")
        self.engine.execute(
            "INSERT INTO campaign_hourly (workspace, campaign, channel, variant, provider, type, hour, "
            "events, profiles, human_events, human_profiles) "
            + CAMPAIGN_HOURLY_SELECT.format(
                condition=f" AND workspace = {string(workspace)} AND profile != {string(profile)} "
                          f"AND ({source_groups})"))

    def wait_for_mutations(self, table: str = "", timeout: float = 30.0) -> bool:
        """Whether the pending mutations (ALTER ... DELETE) of `table` (all tables: "") finished
        within `timeout` seconds."""
        which = f" AND table = {string(table)}" if table else ""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.engine.execute("SELECT count() FROM system.mutations WHERE database = currentDatabase() "
                                       f"AND is_done = 0{which}")
            if int(rows[0][0]) == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _conditions(query: EventQuery) -> list[str]:
    conditions = [f"workspace = {string(query.workspace)}"]
    if query.start is not None:
        conditions.append(f"event_time >= {date_time(query.start.replace(microsecond=0))} "
                          f"AND {_MICROS} >= {integer(epoch_micros(query.start))}")
    if query.end is not None:
        conditions.append(f"{_MICROS} < {integer(epoch_micros(query.end))} AND event_time <= {date_time(query.end)}")
    if query.types:
        conditions.append(f"type IN {in_list(sorted(set(query.types)))}")
    for column in ("profile", "campaign", "variant", "message"):
        value = getattr(query, column)
        if value:
            conditions.append(f"{column} = {string(value)}")
    if query.channel is not None:
        conditions.append(f"channel = {string(query.channel.value)}")
    return conditions
