from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.errors import InvalidArgument

from svc_analytics.domain.ingest import DraftEvent, check_events
from svc_analytics.service_layer.ingest import ingest_events
from svc_analytics.service_layer.writer import EventWriter
from tests.fakes_analytics import InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Published:
    def __init__(self):
        self.batches = []

    def publish(self, events):
        self.batches.append(list(events))


def draft(event_id="e1", **kw) -> DraftEvent:
    fields = {"type": "purchase", "event_time": NOW - timedelta(minutes=5), "profile": "alice@example.com"} | kw
    return DraftEvent(event_id=event_id, **fields)


@pytest.fixture
def store():
    return InMemoryEventStore()


@pytest.fixture
def published():
    return Published()


def ingest(store, published, drafts, **kw):
    return ingest_events("acme", drafts, EventWriter(store, published), lambda: NOW, **kw)


@pytest.mark.parametrize("bad, field", [
    (draft(event_id=""), "event_id"),
    (draft(event_id="has space"), "event_id"),
    (draft(event_id="x" * 129), "event_id"),
    (draft(type=""), "type"),
    (draft(type="AddToCart"), "type"),
    (draft(type="a" * 65), "type"),
    (draft(event_time=None), "event_time"),
    (draft(event_time=NOW + timedelta(hours=24, seconds=1)), "event_time"),
    (draft(event_time=NOW - timedelta(days=396)), "event_time"),
    (draft(event_time=datetime(2026, 6, 1, 11, 0)), "event_time"),
    (draft(properties={"blob": "x" * (32 * 1024)}), "properties"),
    (draft(properties={"when": datetime(2026, 1, 1)}), "properties"),
    (draft(properties={f"k{i}": i for i in range(101)}), "properties"),
    (draft(profile="workspaces/acme/profiles/alice"), "profile"),
    (draft(campaign="Spring_Sale"), "campaign"),
    (draft(message="msg/1"), "message"),
    (draft(value_micros=1_000_000, currency="eur"), "value.currency_code"),
    (draft(value_micros=1_000_000, currency="EURO"), "value.currency_code"),
    (draft(value_micros=1_000_000), "value.currency_code"),
])
def test_a_bad_event_is_refused_by_index_id_and_field_while_the_others_are_stored(store, published, bad, field):
    result = ingest(store, published, [draft("ok-1"), bad, draft("ok-2")])
    assert result.accepted == 2 and result.duplicates == 0
    [rejected] = result.rejected
    assert (rejected.index, rejected.event_id, rejected.field) == (1, bad.event_id, field)
    assert rejected.violation.field == f"events[1].{field}"
    assert {e.event_id for e in store.rows} == {"ok-1", "ok-2"}


def test_limits_at_the_edges_are_accepted():
    drafts = [draft("a", event_time=NOW + timedelta(hours=24)), draft("b", event_time=NOW - timedelta(days=395)),
              draft("Order.2026:06-01~x", properties={"k": "x" * 32000}),
              draft("d", type="a" * 64, value_micros=0, currency="")]
    assert check_events("acme", drafts, NOW).rejected == []


def test_retention_is_the_workspace_setting():
    checked = check_events("acme", [draft(event_time=NOW - timedelta(days=31))], NOW, retention=timedelta(days=30))
    assert checked.rejected[0].field == "event_time" and "30 days" in checked.rejected[0].reason


def test_unknown_campaign_and_profile_are_accepted_unattributed(store, published):
    result = ingest(store, published, [draft(campaign="no-such-campaign", profile="nobody-knows")])
    assert result.accepted == 1
    assert store.rows[0].campaign == "no-such-campaign" and not store.rows[0].attributed


def test_more_than_500_events_refuse_the_whole_call(store, published):
    with pytest.raises(InvalidArgument) as error:
        ingest(store, published, [draft(f"e{i}") for i in range(501)])
    assert error.value.violations[0].field == "events"
    assert store.rows == []
    assert ingest(store, published, [draft(f"e{i}") for i in range(500)]).accepted == 500


def test_a_call_where_every_event_is_bad_answers_invalid_argument_naming_each(store, published):
    with pytest.raises(InvalidArgument) as error:
        ingest(store, published, [draft(type=""), draft("x", event_time=None)])
    assert [v.field for v in error.value.violations] == ["events[0].type", "events[1].event_time"]


def test_duplicates_are_counted_not_stored_again(store, published):
    assert ingest(store, published, [draft("a"), draft("b")]).accepted == 2
    result = ingest(store, published, [draft("a"), draft("c"), draft("c")])
    assert (result.accepted, result.duplicates) == (1, 2)
    assert sorted(e.event_id for e in store.rows) == ["a", "b", "c"]


def test_accepted_events_are_published_as_tracked_once(store, published):
    ingest(store, published, [draft("a", source="web-sdk"), draft("b")])
    ingest(store, published, [draft("a"), draft("c")])
    assert [[e.event_id for e in batch] for batch in published.batches] == [["a", "b"], ["c"]]
    assert published.batches[0][0].source == "web-sdk" and published.batches[0][1].source == "api"


def test_validate_only_stores_and_publishes_nothing(store, published):
    result = ingest(store, published, [draft("a"), draft(type="")], validate_only=True)
    assert (result.accepted, result.duplicates, len(result.rejected)) == (1, 0, 1)
    assert store.rows == [] and published.batches == []
    ingest(store, published, [draft("a")])
    result = ingest(store, published, [draft("a"), draft("b"), draft("b")], validate_only=True)
    assert (result.accepted, result.duplicates) == (1, 2)
    assert [e.event_id for e in store.rows] == ["a"] and len(published.batches) == 1


def test_value_and_properties_are_kept(store, published):
    ingest(store, published, [draft(value_micros=12_500_000, currency="EUR", properties={"sku": "A1", "qty": 2})])
    [event] = store.rows
    assert (event.value_micros, event.currency, event.properties) == (12_500_000, "EUR", {"sku": "A1", "qty": 2})
    assert event.receive_time == NOW and event.workspace == "acme"
