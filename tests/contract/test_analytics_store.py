"""The analytics EventStore contract, on both engines: a ClickHouse 18.16 server (the
`clickhouse_server` fixture, through clickhouse-driver) and chdb in-process in a temporary
folder. Each test writes to a workspace of its own, so one migrated store per engine serves
the module."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from svc_analytics.adapters import sql_literals
from svc_analytics.adapters.columnar_event_store import ColumnarEventStore
from svc_analytics.adapters.event_schema import MIGRATIONS, applied_versions
from svc_analytics.adapters.sql_engines import EmbeddedChdb
from svc_analytics.domain.model import (CLICKED, DELIVERED, OPENED, SENT, SOURCE_NOTIFY, MetricRow,
                                        StoredEvent)
from svc_analytics.service_layer.ports import EventQuery
from svc_kit.channels import Channel

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
HOSTILE = [
    "'; DROP TABLE events; --",
    "\\'; SELECT 1 --",
    "a\\",
    "quote ' and \" double",
    "nul\x00byte",
    "new\nline\r\ttab\x1b[0m",
    "unicode ✓ 𝄞 ü",
    "') OR 1=1 --",
    "`backtick`",
    "{}[]%s%(x)s{0}",
]


@pytest.fixture(scope="module", params=["clickhouse", "chdb"])
def store(request, tmp_path_factory):
    if request.param == "clickhouse":
        request.applymarker(pytest.mark.clickhouse)
        server = request.getfixturevalue("clickhouse_server")
        database = f"t_analytics_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        store = ColumnarEventStore.from_url(server.database_url(database))
    else:
        store = ColumnarEventStore(EmbeddedChdb(tmp_path_factory.mktemp("chdb")))
    store.migrate()
    yield store
    if request.param == "clickhouse":
        store.engine.execute(f"DROP DATABASE IF EXISTS {store.engine.database}")
    store.close()


@pytest.fixture
def workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


def event(workspace: str, event_id: str, type_: str = "page_view", at: datetime = T0, **fields) -> StoredEvent:
    return StoredEvent(workspace=workspace, event_id=event_id, type=type_, event_time=at,
                       receive_time=fields.pop("receive_time", at + timedelta(seconds=1)), **fields)


def metrics_by_type(rows: list[MetricRow]) -> dict[str, MetricRow]:
    return {row.type: row for row in rows}


# -- schema ------------------------------------------------------------------------------------------------------


def test_migrate_is_idempotent(store):
    store.migrate()
    store.migrate()
    assert applied_versions(store.engine) == set(range(1, len(MIGRATIONS) + 1))
    versions = [int(r[0]) for r in store.engine.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))  # each recorded once


# -- writing and reading events ----------------------------------------------------------------------------------


def test_insert_then_get_round_trips_every_field(store, workspace):
    stored = event(workspace, "e1", "purchase", T0.replace(microsecond=123456), source=SOURCE_NOTIFY,
                   receive_time=T0 + timedelta(seconds=2, microseconds=7), profile="p1", campaign="c1",
                   channel=Channel.SMS, message="m1", variant="B", provider="twilio", machine=True,
                   attributed=True, value_micros=12_500_000, currency="EUR",
                   properties={"sku": "X-1", "qty": 2, "nested": {"ok": True}})
    store.insert([stored])
    assert store.get(workspace, "e1") == stored
    assert store.get(workspace, "missing") is None
    assert store.get("other-workspace", "e1") is None


def test_existing_ids_within_the_workspace(store, workspace):
    store.insert([event(workspace, "a"), event(workspace, "b"), event("elsewhere-" + workspace, "c")])
    assert store.existing_ids(workspace, ["a", "c", "z", "a"]) == {"a"}
    assert store.existing_ids(workspace, []) == set()


def test_list_newest_first_with_keyset_pages_and_filters(store, workspace):
    events = [event(workspace, f"e{i}", "page_view" if i % 2 else "purchase", T0 + timedelta(minutes=i),
                    profile=f"p{i % 3}") for i in range(7)]
    same_time = [event(workspace, "s-a", at=T0 + timedelta(minutes=10)),
                 event(workspace, "s-b", at=T0 + timedelta(minutes=10))]
    store.insert(events + same_time)
    query = EventQuery(workspace=workspace)
    pages, after = [], None
    while True:
        page = store.list(query, 3, after)
        if not page:
            break
        pages.append([e.event_id for e in page])
        after = (page[-1].event_time, page[-1].event_id)
    assert sum(pages, []) == ["s-b", "s-a", "e6", "e5", "e4", "e3", "e2", "e1", "e0"]
    assert [len(p) for p in pages] == [3, 3, 3]
    purchases = store.list(EventQuery(workspace=workspace, types=("purchase",), start=T0 + timedelta(minutes=1),
                                      end=T0 + timedelta(minutes=6)), 10)
    assert [e.event_id for e in purchases] == ["e4", "e2"]
    assert [e.event_id for e in store.list(EventQuery(workspace=workspace, profile="p1"), 10)] == ["e4", "e1"]


def test_a_duplicate_event_id_lists_once(store, workspace):
    twice = event(workspace, "dup", profile="p")
    store.insert([twice])
    store.insert([twice])
    assert [e.event_id for e in store.list(EventQuery(workspace=workspace), 10)] == ["dup"]


def test_hostile_strings_are_stored_verbatim(store, workspace):
    events = [event(workspace, f"h{i}-{text}", text, T0 + timedelta(seconds=i), profile=text, campaign=text,
                    variant=text, properties={"text": text}) for i, text in enumerate(HOSTILE)]
    store.insert(events)
    for stored in events:
        assert store.get(workspace, stored.event_id) == stored
        assert [e.event_id for e in store.list(EventQuery(workspace=workspace, profile=stored.profile), 5)] == [
            stored.event_id]
    assert store.existing_ids(workspace, [e.event_id for e in events]) == {e.event_id for e in events}
    assert store.profile_event_count(workspace, HOSTILE[0]) == 1
    assert len(store.list(EventQuery(workspace=workspace), 100)) == len(HOSTILE)  # the table is still there


def test_string_literals_cannot_be_escaped():
    for text in HOSTILE:
        literal = sql_literals.string(text)
        body = literal[1:-1]
        # Every quote inside is escaped, and no control character is left raw.
        assert all(body[i - 1] == "\\" for i, c in enumerate(body) if c == "'")
        assert not any(ord(c) < 0x20 for c in body)
    with pytest.raises(ValueError):
        sql_literals.string("lone \ud800 surrogate")
    with pytest.raises(TypeError):
        sql_literals.literal(1.5)
    with pytest.raises(ValueError):
        sql_literals.date_time(datetime(2026, 1, 1))  # naive


def test_ten_thousand_rows_insert_in_one_call(store, workspace):
    events = [event(workspace, f"bulk-{i:05d}", "page_view", T0 + timedelta(seconds=i), profile=f"p{i % 100}",
                    properties={"i": i}) for i in range(10_000)]
    store.insert(events)
    assert int(store.engine.execute(
        f"SELECT count() FROM events WHERE workspace = {sql_literals.string(workspace)}")[0][0]) == 10_000
    assert store.get(workspace, "bulk-09999") == events[-1]
    long_ids = [f"{e.event_id}-{'x' * 40}" for e in events]  # ~600 KB of ids: more than one query's worth
    assert store.existing_ids(workspace, [e.event_id for e in events] + long_ids) == {e.event_id for e in events}


# -- campaign report -----------------------------------------------------------------------------------------------


def test_campaign_metrics_count_distinct_events_and_profiles(store, workspace):
    common = dict(campaign="c1", channel=Channel.EMAIL, variant="A", provider="ses")
    batch = [
        event(workspace, "s1", SENT, profile="p1", **common),
        event(workspace, "s2", SENT, profile="p2", **common),
        event(workspace, "d1", DELIVERED, profile="p1", **common),
        event(workspace, "o1", OPENED, profile="p1", **common),
        event(workspace, "o2", OPENED, T0 + timedelta(minutes=5), profile="p1", **common),
        event(workspace, "o3", OPENED, profile="p2", machine=True, **common),  # a privacy proxy
        event(workspace, "k1", CLICKED, profile="p2", machine=True, **common),  # a link scanner
        event(workspace, "x1", SENT, profile="p3", campaign="c1", channel=Channel.SMS, variant="A", provider="sms"),
        event(workspace, "other", SENT, profile="p1", campaign="c2", channel=Channel.EMAIL, variant="A"),
    ]
    store.insert(batch)
    store.insert([batch[0], batch[3]])  # duplicates that slipped through count once
    rows = store.campaign_metrics(workspace, "c1", None, None)
    email = metrics_by_type([r for r in rows if r.channel is Channel.EMAIL])
    assert email[SENT] == MetricRow(SENT, Channel.EMAIL, "A", "ses", events=2, profiles=2, human_events=2,
                                    human_profiles=2)
    assert email[OPENED] == MetricRow(OPENED, Channel.EMAIL, "A", "ses", events=3, profiles=2, human_events=2,
                                      human_profiles=1)
    assert email[CLICKED] == MetricRow(CLICKED, Channel.EMAIL, "A", "ses", events=1, profiles=1, human_events=0,
                                       human_profiles=0)
    assert email[DELIVERED].events == 1
    sms = [r for r in rows if r.channel is Channel.SMS]
    assert sms == [MetricRow(SENT, Channel.SMS, "A", "sms", 1, 1, 1, 1)]
    assert store.campaign_metrics(workspace, "nope", None, None) == []


def test_campaign_metrics_revenue_per_currency_and_variants(store, workspace):
    common = dict(campaign="c1", channel=Channel.EMAIL, attributed=True)
    store.insert([
        event(workspace, "b1", "purchase", profile="p1", variant="A", value_micros=10_000_000, currency="EUR",
              **common),
        event(workspace, "b2", "purchase", profile="p2", variant="A", value_micros=2_500_000, currency="EUR", **common),
        event(workspace, "b3", "purchase", profile="p2", variant="A", value_micros=7_000_000, currency="USD", **common),
        event(workspace, "b4", "purchase", profile="p3", variant="B", value_micros=1_000_000, currency="EUR", **common),
    ])
    store.insert([event(workspace, "b1", "purchase", profile="p1", variant="A", value_micros=10_000_000,
                        currency="EUR", **common)])  # a duplicate that slipped through adds nothing
    rows = {(r.variant, r.type): r for r in store.campaign_metrics(workspace, "c1", None, None)}
    assert rows[("A", "purchase")].revenue_micros == {"EUR": 12_500_000, "USD": 7_000_000}
    assert rows[("A", "purchase")].events == 3 and rows[("A", "purchase")].profiles == 2
    assert rows[("B", "purchase")].revenue_micros == {"EUR": 1_000_000}
    assert store.campaign_metrics(workspace, "c1", T0 + timedelta(hours=1), None) == []
    within = store.campaign_metrics(workspace, "c1", T0 + timedelta(minutes=30), T0 + timedelta(minutes=31))
    assert {r.variant: r.revenue_micros for r in within} == {"A": {"EUR": 12_500_000, "USD": 7_000_000},
                                                              "B": {"EUR": 1_000_000}}  # whole hours
    by_variant = store.aggregate(EventQuery(workspace=workspace), "TOTAL", ("variant",), "UTC", 10, 0)
    assert [(r.variant, r.events, r.value_micros) for r in by_variant] == [
        ("A", 3, {"EUR": 12_500_000, "USD": 7_000_000}), ("B", 1, {"EUR": 1_000_000})]


def test_late_events_land_in_their_event_time_hour(store, workspace):
    late = event(workspace, "late", OPENED, T0 - timedelta(hours=5), profile="p1", campaign="c1",
                 receive_time=T0 + timedelta(days=2))
    store.insert([event(workspace, "now", OPENED, T0, profile="p2", campaign="c1")])
    store.insert([late])  # arrives after a newer event
    early = store.campaign_metrics(workspace, "c1", T0 - timedelta(hours=6), T0 - timedelta(hours=4))
    assert [(r.type, r.events, r.profiles) for r in early] == [(OPENED, 1, 1)]
    recent = store.campaign_metrics(workspace, "c1", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(r.type, r.events) for r in recent] == [(OPENED, 1)]
    assert store.campaign_metrics(workspace, "c1", None, None)[0].events == 2
    by_hour = store.aggregate(EventQuery(workspace=workspace), "HOUR", (), "UTC", 10, 0)
    assert [(r.start, r.events) for r in by_hour] == [(T0 - timedelta(hours=5), 1), (T0, 1)]


# -- attribution -------------------------------------------------------------------------------------------------------


def test_last_click_is_the_newest_human_campaign_click_in_the_window(store, workspace):
    window = timedelta(days=5)
    purchase_time = T0 + timedelta(days=10)
    store.insert([
        event(workspace, "old", CLICKED, purchase_time - window - timedelta(seconds=1), profile="p", campaign="c-old"),
        event(workspace, "edge", CLICKED, purchase_time - window, profile="p", campaign="c-edge"),
        event(workspace, "bot", CLICKED, purchase_time - timedelta(hours=1), profile="p", campaign="c-bot",
              machine=True),
        event(workspace, "nocampaign", CLICKED, purchase_time - timedelta(hours=2), profile="p"),
        event(workspace, "after", CLICKED, purchase_time + timedelta(microseconds=1), profile="p", campaign="c-after"),
        event(workspace, "other-profile", CLICKED, purchase_time - timedelta(hours=1), profile="q", campaign="c-q"),
        event(workspace, "open", OPENED, purchase_time - timedelta(minutes=1), profile="p", campaign="c-open"),
    ])
    assert store.last_click(workspace, "p", purchase_time, window).event_id == "edge"
    store.insert([event(workspace, "best", CLICKED, purchase_time - timedelta(days=1), profile="p",
                        campaign="c-best", channel=Channel.PUSH, variant="B", message="m9")])
    click = store.last_click(workspace, "p", purchase_time, window)
    assert (click.event_id, click.campaign, click.channel, click.variant, click.message) == (
        "best", "c-best", Channel.PUSH, "B", "m9")
    assert store.last_click(workspace, "p", purchase_time, timedelta(hours=12)) is None
    assert store.last_click(workspace, "nobody", purchase_time, window) is None


# -- aggregates ------------------------------------------------------------------------------------------------------


def test_aggregate_buckets_follow_the_time_zone(store, workspace):
    # 2026-03-10 03:30 UTC is still March 9 in New York (UTC-4 since the DST change of March 8).
    store.insert([
        event(workspace, "ny-9th", "purchase", datetime(2026, 3, 10, 3, 30, tzinfo=timezone.utc), profile="p1",
              value_micros=1_000_000, currency="USD"),
        event(workspace, "ny-10th", "purchase", datetime(2026, 3, 10, 4, 30, tzinfo=timezone.utc), profile="p2",
              value_micros=2_000_000, currency="USD"),
        event(workspace, "ny-10th-b", "page_view", datetime(2026, 3, 10, 20, 0, tzinfo=timezone.utc), profile="p2"),
    ])
    query = EventQuery(workspace=workspace)
    utc_days = store.aggregate(query, "DAY", (), "UTC", 10, 0)
    assert [(r.start, r.events) for r in utc_days] == [(datetime(2026, 3, 10, tzinfo=timezone.utc), 3)]
    ny_days = store.aggregate(query, "DAY", (), "America/New_York", 10, 0)
    assert [(r.start, r.end, r.events, r.profiles, r.value_micros) for r in ny_days] == [
        (datetime(2026, 3, 9, 4, tzinfo=timezone.utc), datetime(2026, 3, 10, 4, tzinfo=timezone.utc), 1, 1,
         {"USD": 1_000_000}),
        (datetime(2026, 3, 10, 4, tzinfo=timezone.utc), datetime(2026, 3, 11, 4, tzinfo=timezone.utc), 2, 1,
         {"USD": 2_000_000}),
    ]
    # Weeks start on Monday: March 9 begins at 04:00 UTC in New York (03:30 UTC is Monday 23:30 there,
    # well inside it), at 00:00 in UTC.
    ny_weeks = store.aggregate(query, "WEEK", (), "America/New_York", 10, 0)
    assert [(r.start, r.end, r.events) for r in ny_weeks] == [
        (datetime(2026, 3, 9, 4, tzinfo=timezone.utc), datetime(2026, 3, 16, 4, tzinfo=timezone.utc), 3)]
    utc_weeks = store.aggregate(query, "WEEK", (), "UTC", 10, 0)
    assert [(r.start, r.end) for r in utc_weeks] == [
        (datetime(2026, 3, 9, tzinfo=timezone.utc), datetime(2026, 3, 16, tzinfo=timezone.utc))]
    tokyo_months = store.aggregate(query, "MONTH", (), "Asia/Tokyo", 10, 0)
    assert [(r.start, r.end, r.events) for r in tokyo_months] == [
        (datetime(2026, 2, 28, 15, tzinfo=timezone.utc), datetime(2026, 3, 31, 15, tzinfo=timezone.utc), 3)]
    kolkata_hours = store.aggregate(query, "HOUR", (), "Asia/Kolkata", 10, 0)
    assert [r.start.minute for r in kolkata_hours] == [30, 30, 30]  # UTC+5:30 hours start at :30 UTC
    total = store.aggregate(query, "TOTAL", ("type",), "UTC", 10, 0)
    assert [(r.start, r.type, r.events) for r in total] == [(None, "page_view", 1), (None, "purchase", 2)]


def test_aggregate_groups_pages_and_counts_duplicates_once(store, workspace):
    batch = [event(workspace, f"e{i}", OPENED, T0 + timedelta(hours=i % 3), profile=f"p{i % 2}",
                   campaign="c1", channel=Channel.EMAIL if i % 2 else Channel.SMS, variant="A") for i in range(6)]
    store.insert(batch)
    store.insert(batch[:2])
    rows = store.aggregate(EventQuery(workspace=workspace), "TOTAL", ("channel", "campaign"), "UTC", 10, 0)
    assert [(r.campaign, r.channel, r.variant, r.events, r.profiles) for r in rows] == [
        ("c1", Channel.EMAIL, "", 3, 1), ("c1", Channel.SMS, "", 3, 1)]
    hours = store.aggregate(EventQuery(workspace=workspace), "HOUR", (), "UTC", 2, 1)
    assert [(r.start, r.events) for r in hours] == [(T0 + timedelta(hours=1), 2), (T0 + timedelta(hours=2), 2)]
    with pytest.raises(ValueError):
        store.aggregate(EventQuery(workspace=workspace), "DAY", (), "Mars/Olympus", 10, 0)
    with pytest.raises(ValueError):
        store.aggregate(EventQuery(workspace=workspace), "DAY", ("profile",), "UTC", 10, 0)


# -- funnels ---------------------------------------------------------------------------------------------------------


def test_funnel_counts_profiles_by_steps_in_order_within_the_window(store, workspace):
    at = lambda minutes: T0 + timedelta(minutes=minutes)  # noqa: E731
    store.insert([
        # p1: all three in order
        event(workspace, "1a", "view", at(0), profile="p1"), event(workspace, "1b", "cart", at(5), profile="p1"),
        event(workspace, "1c", "purchase", at(10), profile="p1"),
        # p2: cart before view, then purchase: only the first step in order... then view->purchase skips cart
        event(workspace, "2a", "cart", at(0), profile="p2"), event(workspace, "2b", "view", at(1), profile="p2"),
        event(workspace, "2c", "purchase", at(2), profile="p2"),
        # p3: view and cart, purchase too late for a 30-minute window
        event(workspace, "3a", "view", at(0), profile="p3"), event(workspace, "3b", "cart", at(20), profile="p3"),
        event(workspace, "3c", "purchase", at(45), profile="p3"),
        # p4: only a view
        event(workspace, "4a", "view", at(0), profile="p4"),
    ])
    query = EventQuery(workspace=workspace)
    assert store.funnel(query, ["view", "cart", "purchase"], timedelta(minutes=30)) == [4, 2, 1]
    assert store.funnel(query, ["view", "cart", "purchase"], timedelta(hours=1)) == [4, 2, 2]
    assert store.funnel(query, ["cart", "view"], timedelta(hours=1)) == [3, 1]
    assert store.funnel(EventQuery(workspace=workspace, profile="p1"), ["view", "purchase"],
                        timedelta(hours=1)) == [1, 1]


# -- erasure ---------------------------------------------------------------------------------------------------------


def wait_until_erased(store, workspace: str, profile: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while store.profile_event_count(workspace, profile) != 0:
        assert time.monotonic() < deadline, f"{profile}'s events still stored after {timeout} s"
        time.sleep(0.1)


def test_erase_profile_deletes_its_events_and_takes_it_out_of_reports(store, workspace):
    common = dict(campaign="c1", channel=Channel.EMAIL, variant="A")
    store.insert([
        event(workspace, "g1", SENT, profile="gone", **common),
        event(workspace, "g2", OPENED, profile="gone", **common),
        event(workspace, "g3", "purchase", profile="gone", value_micros=5_000_000, currency="EUR", **common),
        event(workspace, "g4", "page_view", profile="gone"),
        event(workspace, "g5", CLICKED, T0 + timedelta(hours=3), profile="gone", campaign="c2"),
        event(workspace, "k4", CLICKED, T0 + timedelta(hours=4), profile="kept", campaign="c2"),
        event(workspace, "k1", SENT, profile="kept", **common),
        event(workspace, "k2", OPENED, profile="kept", **common),
        event(workspace, "k3", "purchase", profile="kept", value_micros=1_000_000, currency="EUR", **common),
        event("other-" + workspace, "o1", SENT, profile="gone", **common),
    ])
    assert store.profile_event_count(workspace, "gone") == 5
    store.erase_profile(workspace, "gone")
    # The report no longer counts the profile once erase_profile returns (its groups were rebuilt) ...
    rows = metrics_by_type(store.campaign_metrics(workspace, "c1", None, None))
    assert {t: (r.events, r.profiles) for t, r in rows.items()} == {SENT: (1, 1), OPENED: (1, 1), "purchase": (1, 1)}
    assert rows["purchase"].revenue_micros == {"EUR": 1_000_000}
    assert [(r.type, r.events) for r in store.campaign_metrics(workspace, "c2", None, None)] == [(CLICKED, 1)]
    # ... and its events go when the (asynchronous) deletion has run.
    wait_until_erased(store, workspace, "gone")
    assert store.profile_event_count(workspace, "kept") == 4
    assert store.profile_event_count("other-" + workspace, "gone") == 1  # another workspace's profile
    assert store.wait_for_mutations()
    assert metrics_by_type(store.campaign_metrics(workspace, "c1", None, None)) == rows
    assert store.list(EventQuery(workspace=workspace, profile="gone"), 10) == []
    store.erase_profile(workspace, "nobody")  # nothing to do, no error


# -- the engines ----------------------------------------------------------------------------------------------------

# What ClickHouse 18.16 refuses and chdb (engine 26.x) accepts: the store's SQL avoids all of it.
# When the server is upgraded past a gap, its check fails here and the store may use the feature.
ENGINE_GAPS = {
    "toStartOfInterval": "SELECT toStartOfInterval(now(), INTERVAL 15 minute)",
    "DateTime64": "SELECT toDateTime64('2026-01-01 00:00:00.123', 3)",
    "JSONExtract": "SELECT JSONExtractString('{\"a\": \"b\"}', 'a')",
    "window functions": "SELECT number, sum(number) OVER (ORDER BY number) FROM numbers(3)",
    "WITH FILL": "SELECT number AS n FROM numbers(5) WHERE number IN (1, 3) ORDER BY n WITH FILL",
    "sumMap with String keys": "SELECT sumMap(k, v) FROM (SELECT ['EUR'] AS k, [toInt64(1)] AS v)",
    "LowCardinality columns": "CREATE TABLE IF NOT EXISTS gap_probe (s LowCardinality(String)) ENGINE = Memory",
    "toStartOfWeek": "SELECT toStartOfWeek(now())",
}


@pytest.mark.parametrize("gap", sorted(ENGINE_GAPS))
def test_sql_the_store_avoids(store, gap):
    version = store.engine.execute("SELECT version()")[0][0]
    if store.engine.name == "clickhouse" and version.startswith("18."):
        with pytest.raises(Exception):  # noqa: B017 - each engine's own error type
            store.engine.execute(ENGINE_GAPS[gap])
    else:
        store.engine.execute(ENGINE_GAPS[gap])
    store.engine.execute("DROP TABLE IF EXISTS gap_probe")


@pytest.mark.clickhouse
def test_throwaway_clickhouse_server_lifecycle(clickhouse_server):
    from devstack.servers.clickhouse import ThrowawayClickHouse

    server = ThrowawayClickHouse().start()
    folder = server.folder
    try:
        assert server.running and server.url.startswith("clickhouse://127.0.0.1:")
        config = (folder / "config.xml").read_text()
        assert "<listen_host>127.0.0.1</listen_host>" in config
        assert "<ip>127.0.0.1</ip>" in (folder / "users.xml").read_text()
        store = ColumnarEventStore.from_url(server.url.rsplit("/", 1)[0] + "/lifecycle")
        store.migrate()
        assert applied_versions(store.engine) == set(range(1, len(MIGRATIONS) + 1))
        store.close()
    finally:
        server.stop()
    assert not server.running and not folder.exists()
