from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import InvalidArgument, NotFound

from svc_analytics.domain.model import StoredEvent
from svc_analytics.service_layer.erasure import erase_profile, erasure_status
from svc_analytics.service_layer.event_filter import parse_event_filter
from svc_analytics.service_layer.ports import EventQuery
from tests.fakes_analytics import FakeUnitOfWork, InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def events(profile, n=2, workspace="acme"):
    return [StoredEvent(workspace, f"{profile}-{i}", "page_viewed", NOW, NOW, profile=profile) for i in range(n)]


def test_an_erasure_is_recorded_and_completes_when_the_store_has_deleted_the_events():
    store, uow = InMemoryEventStore(asynchronous_erasure=True), FakeUnitOfWork()
    store.insert(events("alice") + events("bob") + events("alice", workspace="globex"))
    requested = erase_profile("acme", "alice", store, uow, lambda: NOW)
    assert not requested.complete
    pending = erasure_status("acme", "alice", store, uow, lambda: NOW + timedelta(seconds=1))
    assert not pending.complete and pending.remaining_events == 2
    store.complete_erasures()
    done = erasure_status("acme", "alice", store, uow, lambda: NOW + timedelta(seconds=2))
    assert done.complete and done.complete_time == NOW + timedelta(seconds=2) and done.remaining_events == 0
    assert erasure_status("acme", "alice", store, uow, lambda: NOW + timedelta(days=1)).complete_time == \
        NOW + timedelta(seconds=2)
    assert store.profile_event_count("acme", "bob") == 2 and store.profile_event_count("globex", "alice") == 2


def test_no_erasure_requested_is_not_found():
    with pytest.raises(NotFound):
        erasure_status("acme", "alice", InMemoryEventStore(), FakeUnitOfWork(), lambda: NOW)


def test_the_events_filter():
    query = parse_event_filter("acme", 'profile = "alice@example.com" AND type = purchase AND channel = CHANNEL_EMAIL'
                                       ' AND campaign = spring AND variant = b AND message = m1'
                                       ' AND event_time >= "2026-01-01T00:00:00Z" AND event_time < "2026-02-01T00:00:00Z"')
    assert query == EventQuery("acme", start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 2, 1, tzinfo=UTC),
                               types=("purchase",), profile="alice@example.com", campaign="spring",
                               channel=Channel.EMAIL, variant="b", message="m1")
    inclusive = parse_event_filter("acme", 'event_time > "2026-01-01T00:00:00Z" AND event_time <= "2026-01-02T00:00:00Z"')
    assert inclusive.start == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert inclusive.end == datetime(2026, 1, 2, 0, 0, 0, 1, tzinfo=UTC)
    assert parse_event_filter("acme", "") == EventQuery("acme")


@pytest.mark.parametrize("text", [
    "properties.sku = A1", "profile != alice", "channel = CHANNEL_FAX", 'event_time >= "yesterday"',
    'event_time >= "2026-01-01T00:00:00"', "type = a AND type = b", 'event_time = "2026-01-01T00:00:00Z"',
    'event_time >= "2026-02-01T00:00:00Z" AND event_time < "2026-01-01T00:00:00Z"', "name = x"])
def test_bad_event_filters(text):
    with pytest.raises(InvalidArgument) as error:
        parse_event_filter("acme", text)
    assert error.value.violations[0].field == "filter"

