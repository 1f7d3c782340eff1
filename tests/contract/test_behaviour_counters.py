"""Tracked behaviour counted on profiles in the real MongoDB-wire servers:
batches, redeliveries, new profiles, and the event conditions that read the
counters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes
from svc_audience.domain.behaviour import RECENT_KEPT, TrackedEvent
from svc_audience.domain.segments import compile_rule
from svc_audience.service_layer.behaviour import record_events

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture(params=["nx", "ferretdb"])
def repository(request):
    server = request.getfixturevalue(f"{request.param}_server")
    client = MongoClient(server.url, tz_aware=True)
    database = client[f"behaviour_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    yield MongoProfileRepository(database)
    client.drop_database(database.name)
    client.close()


def members(repository, rule) -> list[str]:
    query = compile_rule(rule, "acme", NOW)
    return sorted(d["external_id"] for d in repository.profiles.find(query, {"external_id": 1}))


def test_events_are_counted_once_and_feed_event_conditions(repository):
    batch = [TrackedEvent("e1", "acme", "u1", "cart_abandoned", ms(NOW - timedelta(days=1))),
             TrackedEvent("e2", "acme", "u1", "cart_abandoned", ms(NOW - timedelta(days=2))),
             TrackedEvent("e2", "acme", "u1", "cart_abandoned", ms(NOW - timedelta(days=2))),  # redelivered
             TrackedEvent("e3", "acme", "u2", "cart_abandoned", ms(NOW - timedelta(days=20))),
             TrackedEvent("e4", "acme", "u2", "cart_abandoned", ms(NOW - timedelta(hours=1))),
             TrackedEvent("e5", "other", "u1", "cart_abandoned", ms(NOW))]
    assert record_events(batch, repository, lambda: NOW) == 5
    assert record_events(batch[:3], repository, lambda: NOW) == 0  # all seen before
    u1 = repository.get("acme", "u1")
    assert u1.behaviour["cart_abandoned"]["count"] == 2 and u1.seen_events == ("e1", "e2")
    assert members(repository, {"event": "cart_abandoned", "min_count": 2, "within_days": 7}) == ["u1"]
    assert members(repository, {"event": "cart_abandoned", "min_count": 2}) == ["u1", "u2"]
    assert members(repository, {"event": "cart_abandoned", "max_count": 1, "within_days": 7}) == ["u2"]
    assert repository.get("other", "u1").behaviour["cart_abandoned"]["count"] == 1


def test_only_the_newest_occurrences_are_kept_in_order(repository):
    batch = [TrackedEvent(f"v{i}", "acme", "u3", "page:viewed", ms(NOW - timedelta(minutes=i)))
             for i in range(RECENT_KEPT + 20)]
    record_events(batch[::-1], repository, lambda: NOW)
    entry = repository.get("acme", "u3").behaviour["page:viewed"]
    assert entry["count"] == RECENT_KEPT + 20
    assert entry["recent"] == [ms(NOW - timedelta(minutes=i)) for i in range(RECENT_KEPT)]
    assert members(repository, {"event": "page:viewed", "min_count": RECENT_KEPT, "within_days": 1}) == ["u3"]
