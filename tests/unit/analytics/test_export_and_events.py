from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import InvalidArgument, NotFound

from svc_analytics.domain.model import CLICKED, DELIVERED, OPENED, SENT, StoredEvent
from svc_analytics.service_layer import events as use_cases
from svc_analytics.service_layer.export import (REPORT_HEADER, events_csv_lines, export_campaign_report,
                                                export_events, money_text)
from svc_analytics.service_layer.ports import EventQuery
from tests.fakes_analytics import InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ev(event_id, type_, minutes=0, **kw):
    at = NOW + timedelta(minutes=minutes)
    return StoredEvent("acme", event_id, type_, at, at, **kw)


@pytest.fixture
def store():
    store = InMemoryEventStore()
    store.insert([
        ev("s1", SENT, campaign="spring", channel=Channel.EMAIL, variant="a", provider="ses", profile="p1",
           value_micros=1_500, currency="USD"),
        ev("s2", SENT, campaign="spring", channel=Channel.EMAIL, variant="b", provider="ses", profile="p2",
           value_micros=1_500, currency="USD"),
        ev("d1", DELIVERED, 1, campaign="spring", channel=Channel.EMAIL, variant="a", provider="ses", profile="p1"),
        ev("o1", OPENED, 30, campaign="spring", channel=Channel.EMAIL, variant="a", profile="p1"),
        ev("c1", CLICKED, 31, campaign="spring", channel=Channel.EMAIL, variant="a", profile="p1",
           properties={"url": "https://shop.example/a,b", "note": 'say "hi"'}),
        ev("p1", "purchase", 40, campaign="spring", channel=Channel.EMAIL, variant="a", profile="p1",
           attributed=True, value_micros=12_500_000, currency="EUR"),
    ])
    return store


def test_money_is_exact_in_units():
    assert money_text({"USD": 3_000, "EUR": 12_500_000}) == "12.5 EUR; 0.003 USD"
    assert money_text({"JPY": 1_000_000_000}) == "1000 JPY" and money_text({}) == ""


def test_the_report_as_csv_has_a_row_per_total_channel_variant_and_provider(store):
    lines = list(export_campaign_report(store, "acme", "spring", lambda: NOW))
    assert all(line.endswith("\r\n") for line in lines)
    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    assert tuple(rows[0]) == REPORT_HEADER
    assert [(r["scope"], r["channel"], r["variant"], r["provider"]) for r in rows] == [
        ("total", "", "", ""), ("channel", "EMAIL", "", ""), ("variant", "EMAIL", "a", ""),
        ("variant", "EMAIL", "b", ""), ("provider", "", "", "ses")]
    total = rows[0]
    assert (total["sent"], total["delivered"], total["opened"], total["clicked"], total["converted"]) == (
        "2", "1", "1", "1", "1")
    assert (total["delivery_rate"], total["open_rate"], total["click_to_open_rate"]) == (
        "0.500000", "1.000000", "1.000000")
    assert (total["revenue"], total["spend"], total["cost_per_conversion"]) == ("12.5 EUR", "0.003 USD", "0.003 USD")
    assert rows[3]["sent"] == "1" and rows[3]["delivered"] == "0" and rows[3]["open_rate"] == "0.000000"


def test_the_report_export_fails_before_streaming(store):
    with pytest.raises(NotFound):
        export_campaign_report(store, "acme", "nope", lambda: NOW)


def test_events_as_csv_quote_what_needs_it(store):
    lines = list(export_events(store, EventQuery("acme", campaign="spring"), page_size=2))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert [r[0] for r in rows] == ["event_id", "p1", "c1", "o1", "d1", "s2", "s1"]
    click = rows[2]
    assert click[2] == "2026-06-01T12:31:00Z" and click[6] == "EMAIL" and click[10] == "false"
    assert click[-1] == '{"note":"say \\"hi\\"","url":"https://shop.example/a,b"}'
    assert rows[1][11] == "true" and rows[1][12] == "12.5 EUR"
    assert list(events_csv_lines([])) == [",".join(("event_id", "type", "event_time", "receive_time", "profile",
                                                    "campaign", "channel", "message", "variant", "provider",
                                                    "machine", "attributed", "value", "source", "properties"))
                                          + "\r\n"]


def test_get_and_list_events(store):
    assert use_cases.get_event(store, "acme", "c1").type == CLICKED
    with pytest.raises(NotFound):
        use_cases.get_event(store, "globex", "c1")
    first = use_cases.list_events(store, "acme", page_size=4)
    assert [e.event_id for e in first.events] == ["p1", "c1", "o1", "d1"] and first.next_page_token
    second = use_cases.list_events(store, "acme", page_size=4, page_token=first.next_page_token)
    assert [e.event_id for e in second.events] == ["s2", "s1"] and second.next_page_token == ""
    profile = use_cases.list_events(store, "acme", filter_='profile = "p2"')
    assert [e.event_id for e in profile.events] == ["s2"]
    with pytest.raises(InvalidArgument):
        use_cases.list_events(store, "acme", page_token=first.next_page_token, filter_="type = purchase")


def test_aggregate_events(store):
    page = use_cases.aggregate_events(store, "acme", NOW, NOW + timedelta(days=1), data_time=NOW,
                                      granularity="HOUR", group_by=("type",), page_size=3)
    assert [(r.type, r.events) for r in page.rows] == [(CLICKED, 1), (DELIVERED, 1), (OPENED, 1)]
    rest = use_cases.aggregate_events(store, "acme", NOW, NOW + timedelta(days=1), data_time=NOW,
                                      granularity="HOUR", group_by=("type",), page_size=3,
                                      page_token=page.next_page_token)
    assert [(r.type, r.events, r.value_micros) for r in rest.rows] == [
        (SENT, 2, {"USD": 3_000}), ("purchase", 1, {"EUR": 12_500_000})]
    assert rest.next_page_token == ""
    total = use_cases.aggregate_events(store, "acme", NOW, NOW + timedelta(days=1), data_time=NOW,
                                       granularity="TOTAL", filter_="type = message_sent")
    assert [(r.start, r.events, r.profiles) for r in total.rows] == [(None, 2, 2)]


@pytest.mark.parametrize("kw, field", [
    ({"end": NOW}, "interval"), ({"end": NOW + timedelta(days=401)}, "interval"),
    ({"granularity": "YEAR"}, "granularity"), ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"group_by": ("type", "type")}, "group_by[1]"), ({"group_by": ("profile",)}, "group_by[0]"),
    ({"filter_": 'event_time >= "2026-01-01T00:00:00Z"'}, "filter"), ({"page_size": -1}, "page_size"),
])
def test_bad_aggregations(store, kw, field):
    args = {"end": NOW + timedelta(days=1)} | kw
    with pytest.raises(InvalidArgument) as error:
        use_cases.aggregate_events(store, "acme", NOW, args.pop("end"), data_time=NOW, **args)
    assert error.value.violations[0].field == field
