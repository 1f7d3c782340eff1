"""Segment upkeep on the running platform: profile changes, tracked behaviour
and erasures move profiles in and out of segments, and every move is
announced as `segment_updated` on the bus."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.bus.factory import make_bus

from svc_audience.adapters import events

pytestmark = pytest.mark.e2e


def upsert(rest, ws, external_id, ltv):
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert",
                         {"profile": {"email": f"{external_id}@example.com",
                                      "attributes": [{"key": "ltv", "doubleValue": ltv}]}})
    assert response.status == 200, response.body


class SegmentEvents:
    """The segment topic as another service sees it, narrowed to one workspace."""

    def __init__(self, running, ws):
        self.bus = make_bus(running.platform.env)
        self.consumer = self.bus.consumer(events.SEGMENT_TOPIC, f"e2e-{uuid.uuid4().hex[:8]}", events.SEGMENT_SCHEMA)
        self.ws = ws

    def next(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.consumer.receive(0.5)
            if message is None:
                continue
            self.consumer.ack(message)
            if message.value["workspace"] == self.ws:
                return message.value
        raise AssertionError("no segment event came")

    def follow(self, members: set[str], expected: set[str]) -> list[str]:
        """Applies segment_updated events to `members` until it is `expected`;
        returns the reasons seen. Which pass announces a move (the profile's or
        a recomputation) depends on timing; what must hold is where it ends."""
        reasons = []
        while members != expected:
            payload = self.next()["payload"]
            members |= set(payload["added"])
            members -= set(payload["removed"])
            reasons.append(payload["reason"])
        return reasons

    def close(self):
        self.bus.close()


def track(running, ws, external_id, name, when):
    bus = make_bus(running.platform.env)
    try:
        producer = bus.producer(events.BEHAVIOUR_TOPIC, events.BEHAVIOUR_SCHEMA)
        event_id = uuid.uuid4().hex
        record = {"event_id": event_id, "event_type": "event_tracked", "workspace": ws,
                  "aggregate_id": external_id, "aggregate_version": 1, "occurred_at": when,
                  "producer": "e2e", "traceparent": None, "tracestate": None,
                  "payload": ("marketing.behaviour.v1.EventTracked",
                              {"profile": f"workspaces/{ws}/profiles/{external_id}", "name": name,
                               "properties": {}})}
        producer.send(f"workspaces/{ws}/profiles/{external_id}", record)
        producer.send(f"workspaces/{ws}/profiles/{external_id}", record)  # redelivered: counts once
        producer.close()
    finally:
        bus.close()


def eventually_count(rest, segment, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        count = rest.call("POST", f"/v1/{segment}:countMembers", {}).body["count"]
        if count == str(expected) or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def test_memberships_follow_profile_changes_and_are_announced(running):
    ws = f"upk-{uuid.uuid4().hex[:8]}"
    feed = SegmentEvents(running, ws)
    try:
        upsert(running.rest, ws, "a", 300)
        upsert(running.rest, ws, "b", 50)
        created = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=big",
                                    {"displayName": "Big", "definition": json.dumps(
                                        {"attribute": "ltv", "op": "gte", "value": 100})})
        assert created.status == 200, created.body
        first = feed.next()
        assert first["event_type"] == "segment_updated" and first["aggregate_id"] == "big"
        assert first["payload"]["segment"] == f"workspaces/{ws}/segments/big"
        assert (first["payload"]["added"], first["payload"]["removed"]) == (["a"], [])
        members = {"a"}

        upsert(running.rest, ws, "b", 200)
        upsert(running.rest, ws, "a", 10)
        reasons = feed.follow(members, {"b"})
        assert set(reasons) <= {"profiles_changed", "recomputed"}

        assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/b").status == 200
        gone = feed.next()["payload"]
        assert gone["removed"] == ["b"] and gone["reason"] == "profile_erased"

        assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/segments/big").status == 200
        deleted = feed.next()
        assert deleted["event_type"] == "segment_deleted"
        assert deleted["payload"] == {"segment": f"workspaces/{ws}/segments/big"}
    finally:
        feed.close()


def test_tracked_behaviour_feeds_event_conditions(running):
    ws = f"beh-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    rule = {"and": [{"event": "cart_abandoned", "min_count": 2, "within_days": 7},
                    {"not": {"event": "purchase", "within_days": 7}}]}
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=abandoners",
                                {"displayName": "Abandoners", "definition": json.dumps(rule)})
    assert created.status == 200, created.body
    segment = created.body["name"]
    feed = SegmentEvents(running, ws)
    try:
        track(running, ws, "c", "cart_abandoned", now - timedelta(days=1))
        track(running, ws, "c", "cart_abandoned", now - timedelta(hours=2))
        track(running, ws, "d", "cart_abandoned", now - timedelta(days=1))
        track(running, ws, "d", "cart_abandoned", now - timedelta(days=30))  # outside the window
        assert eventually_count(running.rest, segment, 1) == "1"
        members = running.rest.call("GET", f"/v1/{segment}/members").body["members"]
        assert [m["profile"] for m in members] == [f"workspaces/{ws}/profiles/c"]
        assert feed.next()["payload"]["added"] == ["c"]

        track(running, ws, "c", "purchase", now)
        assert eventually_count(running.rest, segment, 0) == "0"
        assert feed.next()["payload"]["removed"] == ["c"]
    finally:
        feed.close()
    profile = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/c")
    assert profile.status == 200  # a tracked event of an unknown profile creates it


def eventually_audience(rest, name, expected_size, timeout=30, segments=None):
    """The campaign's audience once its size (and, given, its per-segment
    (id, state, size) list) is as expected, or as it is at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = rest.call("GET", f"/v1/{name}/audience")
        assert found.status == 200, found.body
        seen = [(s["segment"].rsplit("/", 1)[1], s["state"], s.get("size", "0")) for s in found.body["segments"]]
        if (int(found.body.get("size", "0")) == expected_size and segments in (None, seen)) \
                or time.monotonic() > deadline:
            return found.body
        time.sleep(0.2)


def test_the_campaign_service_copy_follows_segment_updates(running):
    ws = f"cch-{uuid.uuid4().hex[:8]}"
    for external_id, ltv in (("a", 300), ("b", 50), ("c", 150)):
        upsert(running.rest, ws, external_id, ltv)
    for segment_id, low in (("big", 100), ("huge", 250)):
        created = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId={segment_id}",
                                    {"displayName": segment_id, "definition": json.dumps(
                                        {"attribute": "ltv", "op": "gte", "value": low})})
        assert created.status == 200, created.body
    made = running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Spring", "targetSegments": [f"workspaces/{ws}/segments/big",
                                                    f"workspaces/{ws}/segments/huge"]})
    assert made.status == 200, made.body
    name = made.body["name"]

    expected = [("big", "STATE_CURRENT", "2"), ("huge", "STATE_CURRENT", "1")]
    body = eventually_audience(running.rest, name, 2, segments=expected)
    assert body["size"] == "2"
    assert [(s["segment"].rsplit("/", 1)[1], s["state"], s["size"]) for s in body["segments"]] == [
        ("big", "STATE_CURRENT", "2"), ("huge", "STATE_CURRENT", "1")]
    members = running.rest.call("GET", f"/v1/{name}/audience/members?pageSize=1").body
    assert members["profiles"] == [f"workspaces/{ws}/profiles/a"] and members["nextPageToken"]

    upsert(running.rest, ws, "b", 500)  # b enters both segments
    assert eventually_audience(running.rest, name, 3)["size"] == "3"
    assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/segments/big").status == 200
    body = eventually_audience(running.rest, name, 2)  # only huge is left: a and b
    assert body["segments"][0]["state"] == "STATE_DELETED"

    assert running.rest.call("GET", f"/v1/workspaces/other/campaigns/{name.rsplit('/', 1)[1]}/audience").status == 404
    assert running.rest.call("GET", f"/v1/{name}/audience/members?pageToken=garbage").status == 400
