"""The analytics tables and materialised views, as versioned migrations.

`migrate(engine)` applies, in order, the migrations not yet recorded in `schema_migrations`
and records each; calling it again does nothing. A migration is a list of statements; add new
ones at the end, never edit an applied one. The SQL stays inside what ClickHouse 18.16 and
chdb (engine 26.x) both accept: no DateTime64 (sub-second parts are kept in *_us columns),
no LowCardinality (18.16 needs a setting), no TTL, codecs or skip indexes.

* events: one row per stored event, MergeTree partitioned by month of event_time and ordered
  by (workspace, event_time, event_id); properties as JSON text.
* campaign_hourly: AggregatingMergeTree of the campaign report per (workspace, campaign,
  channel, variant, provider, type, hour), filled by campaign_hourly_mv from every event with
  a campaign: uniqExact states of event ids and profiles, for all events and for human ones
  (machine = 0). campaign_metrics reads it back with the -Merge combinators, so an event id
  stored twice still counts once.
* campaign_revenue: the campaign events that carry a value (currency set), one row each,
  filled by campaign_revenue_mv. Revenue is summed per currency from it reading each event id
  once, so a duplicate does not double it, which a sum state cannot promise (and 18.16's
  sumMap takes numeric keys only, so not currency codes). Valued events (conversions) are few.
"""

from __future__ import annotations

from svc_analytics.adapters.sql_engines import SqlEngine
from svc_analytics.adapters.sql_literals import integer

EVENT_COLUMNS = (
    "workspace", "event_id", "type", "event_time", "event_us", "receive_time", "receive_us", "source", "profile",
    "campaign", "channel", "message", "variant", "provider", "machine", "attributed", "value_micros", "currency",
    "properties",
)

_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    workspace String,
    event_id String,
    type String,
    event_time DateTime('UTC'),
    event_us UInt32,
    receive_time DateTime('UTC'),
    receive_us UInt32,
    source String,
    profile String,
    campaign String,
    channel String,
    message String,
    variant String,
    provider String,
    machine UInt8,
    attributed UInt8,
    value_micros Int64,
    currency String,
    properties String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (workspace, event_time, event_id)
"""

_CAMPAIGN_HOURLY = """
CREATE TABLE IF NOT EXISTS campaign_hourly (
    workspace String,
    campaign String,
    channel String,
    variant String,
    provider String,
    type String,
    hour DateTime('UTC'),
    events AggregateFunction(uniqExact, String),
    profiles AggregateFunction(uniqExactIf, String, UInt8),
    human_events AggregateFunction(uniqExactIf, String, UInt8),
    human_profiles AggregateFunction(uniqExactIf, String, UInt8)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (workspace, campaign, channel, variant, provider, type, hour)
"""

# The SELECT the view runs on every inserted block; erase_profile re-runs it to rebuild groups.
CAMPAIGN_HOURLY_SELECT = """
SELECT
    workspace, campaign, channel, variant, provider, type,
    toStartOfHour(event_time) AS hour,
    uniqExactState(event_id) AS events,
    uniqExactIfState(profile, profile != '') AS profiles,
    uniqExactIfState(event_id, machine = 0) AS human_events,
    uniqExactIfState(profile, machine = 0 AND profile != '') AS human_profiles
FROM events
WHERE campaign != ''{condition}
GROUP BY workspace, campaign, channel, variant, provider, type, hour
"""

_CAMPAIGN_REVENUE = """
CREATE TABLE IF NOT EXISTS campaign_revenue (
    workspace String,
    campaign String,
    channel String,
    variant String,
    provider String,
    type String,
    currency String,
    event_time DateTime('UTC'),
    event_id String,
    profile String,
    value_micros Int64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (workspace, campaign, event_time, event_id)
"""

MIGRATIONS: list[list[str]] = [
    [_EVENTS],
    [_CAMPAIGN_HOURLY,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_hourly_mv TO campaign_hourly AS "
     + CAMPAIGN_HOURLY_SELECT.format(condition=""),
     _CAMPAIGN_REVENUE,
     "CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_revenue_mv TO campaign_revenue AS "
     "SELECT workspace, campaign, channel, variant, provider, type, currency, event_time, event_id, profile, "
     "value_micros FROM events WHERE campaign != '' AND currency != ''"],
]

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    applied_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY version
"""


def applied_versions(engine: SqlEngine) -> set[int]:
    return {int(row[0]) for row in engine.execute("SELECT version FROM schema_migrations")}


def migrate(engine: SqlEngine) -> list[int]:
    """Applies the migrations not applied yet; returns their versions (1-based). Statements are
    idempotent (IF NOT EXISTS), so a migration interrupted halfway is simply applied again."""
    engine.execute(_MIGRATIONS_TABLE)
    done = applied_versions(engine)
    applied = []
    for version, statements in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        for statement in statements:
            engine.execute(statement)
        engine.execute(f"INSERT INTO schema_migrations (version, applied_at) SELECT {integer(version)}, now()")
        applied.append(version)
    return applied
