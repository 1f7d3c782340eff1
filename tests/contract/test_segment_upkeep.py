"""Segment upkeep against both MongoDB-wire servers: memberships follow
profile writes (incremental passes) and definitions (full passes), erasures
and deletions are announced, and every announced move is what the segment's
query says."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient

from svc_audience.adapters.membership_store import MembershipStore
from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.domain.model import Profile, ProfileData
from svc_audience.domain.segments import Segment
from svc_audience.service_layer.upkeep import SegmentUpkeep, _merge, is_time_dependent

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Feed:
    """Collects what upkeep publishes and folds it into memberships."""

    def __init__(self):
        self.entries = []

    def __call__(self, entries):
        self.entries.extend(entries)

    def members(self, segment_id: str) -> set[str]:
        current: set[str] = set()
        for entry in self.entries:
            if entry.record["aggregate_id"] != segment_id:
                continue
            if entry.record["event_type"] == "segment_deleted":
                current = set()
                continue
            payload = entry.record["payload"][1]
            current |= set(payload["added"])
            current -= set(payload["removed"])
        return current


@pytest.fixture(params=["nx", "ferretdb"])
def upkeep(request):
    server = request.getfixturevalue(f"{request.param}_server")
    client = MongoClient(server.url, tz_aware=True)
    database = client[f"upkeep_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    memberships = MembershipStore(database)
    memberships.ensure_indexes()
    segments = SegmentStore(database)
    segments.ensure_indexes()
    feed = Feed()
    yield SegmentUpkeep(MongoProfileRepository(database), segments, memberships, feed, lambda: NOW), feed
    client.drop_database(database.name)
    client.close()


def write(upkeep, external_id: str, ltv: float, workspace: str = "acme") -> None:
    repo = upkeep.profiles
    existing = repo.get(workspace, external_id)
    base = existing or Profile(workspace, external_id)
    repo.save(base.merged(ProfileData(attributes={"ltv": ltv}), (), NOW), base.version)


def segment(upkeep, segment_id: str, low: float, workspace: str = "acme") -> Segment:
    created = Segment(workspace, segment_id, segment_id, json.dumps({"attribute": "ltv", "op": "gte", "value": low}),
                      create_time=NOW, update_time=NOW)
    upkeep.segments.add(created)
    upkeep.request(workspace, segment_id)
    return created


def drain(upkeep) -> None:
    while upkeep.run_stale(limit=50).profiles or upkeep.run_requests().changes:
        pass


def test_memberships_follow_writes_definitions_erasures_and_deletions(upkeep):
    upkeep, feed = upkeep
    for i in range(120):  # more than one stale batch, more than one write chunk
        write(upkeep, f"p{i:03d}", float(i))
    write(upkeep, "p000", 500.0, workspace="other")
    drain(upkeep)
    assert feed.entries == []  # no segments yet: marks are cleared, nothing is announced
    assert upkeep.profiles.stale(10) == []

    segment(upkeep, "big", 100)
    drain(upkeep)
    assert feed.members("big") == {f"p{i:03d}" for i in range(100, 120)}
    assert {e.record["payload"][1]["reason"] for e in feed.entries} == {"recomputed"}
    assert all(e.record["workspace"] == "acme" for e in feed.entries)

    write(upkeep, "p005", 150.0)
    write(upkeep, "p110", 5.0)
    drain(upkeep)
    assert feed.members("big") == {f"p{i:03d}" for i in range(100, 120)} - {"p110"} | {"p005"}
    assert set(upkeep.memberships.members("acme", "big")) == feed.members("big")

    upkeep.forget_profile("acme", "p005")
    assert "p005" not in feed.members("big")
    upkeep.segment_deleted("acme", "big")
    assert feed.members("big") == set() and upkeep.memberships.count("acme", "big") == 0


def test_a_full_pass_repairs_whatever_the_copy_got_wrong(upkeep):
    upkeep, feed = upkeep
    for i in range(30):
        write(upkeep, f"p{i:03d}", float(i))
    created = segment(upkeep, "mid", 10)
    drain(upkeep)
    upkeep.memberships.add("acme", "mid", ["p001", "zzz"])  # a copy gone wrong
    upkeep.memberships.remove("acme", "mid", ["p015"])
    assert upkeep.recompute(created) == (1, 2)
    assert set(upkeep.memberships.members("acme", "mid")) == {f"p{i:03d}" for i in range(10, 30)}


def test_time_dependence_and_the_merge():
    assert is_time_dependent(json.dumps({"attribute": "last_order", "op": "within_last_days", "value": 7}))
    assert is_time_dependent(json.dumps({"and": [{"event": "cart_abandoned", "within_days": 3}]}))
    assert not is_time_dependent(json.dumps({"or": [{"event": "cart_abandoned"}, {"consent": "email",
                                                                                   "status": "granted"}]}))
    assert list(_merge(iter(["a", "c", "d"]), iter(["b", "c", "e"]))) == [
        ("new", "a"), ("gone", "b"), ("new", "d"), ("gone", "e")]


def test_a_changed_definition_is_stored_with_its_version_and_recomputed(upkeep):
    from svc_kit.errors import Aborted, FailedPrecondition

    from svc_audience.service_layer import segments as handlers

    upkeep, feed = upkeep
    for i in range(20):
        write(upkeep, f"p{i:03d}", float(i))
    created = segment(upkeep, "movable", 15)
    drain(upkeep)
    assert feed.members("movable") == {f"p{i:03d}" for i in range(15, 20)}
    etag = handlers.segment_etag(created)
    changed = handlers.update_segment("acme", "movable", {"definition": json.dumps(
        {"attribute": "ltv", "op": "lt", "value": 3})}, frozenset({"definition"}), etag, upkeep.segments,
        lambda: NOW, upkeep)
    assert changed.version == 2 and upkeep.segments.get("acme", "movable").version == 2
    drain(upkeep)
    assert feed.members("movable") == {"p000", "p001", "p002"}
    with pytest.raises(Aborted):  # the etag read before the change
        handlers.update_segment("acme", "movable", {"display_name": "x"}, frozenset({"display_name"}), etag,
                                upkeep.segments, lambda: NOW, upkeep)
    with pytest.raises(Aborted):  # a writer that lost the race
        upkeep.segments.replace(created, 1)
    lookalike_kept = Segment("acme", "kept", "kept", "", kind="lookalike", lookalike="l1")
    upkeep.segments.add(lookalike_kept)
    with pytest.raises(FailedPrecondition):
        handlers.update_segment("acme", "kept", {"display_name": "y"}, frozenset({"display_name"}), "",
                                upkeep.segments, lambda: NOW, upkeep)


def test_static_segments_take_explicit_members_idempotently_and_announce_them(upkeep):
    """AddSegmentMembers / RemoveSegmentMembers: the segment id is written into the profiles; upkeep announces
    who moved in segment_updated (reason profiles_changed) like for rules; again changes nothing; a rules
    segment refuses; deleting the segment takes it out of its members' profiles."""
    from svc_kit.errors import FailedPrecondition, InvalidArgument

    from svc_audience.service_layer import segments as handlers

    upkeep, feed = upkeep
    for i in range(5):
        write(upkeep, f"p{i}", float(i))
    write(upkeep, "p0", 1.0, workspace="other")
    clock = lambda: NOW  # noqa: E731
    with pytest.raises(InvalidArgument) as refused:
        handlers.create_segment("acme", "vip", "VIP", "", '{"attribute": "ltv", "op": "gt", "value": 1}', {},
                                upkeep.segments, clock, lambda: "x", kind="static")
    assert refused.value.violations[0].field == "segment.definition"
    handlers.create_segment("acme", "vip", "VIP", "", "", {}, upkeep.segments, clock, lambda: "x", kind="static",
                            upkeep=upkeep)
    segment(upkeep, "rules", 3)
    drain(upkeep)
    assert feed.members("vip") == set()

    def change(ids, adding=True, segment_id="vip"):
        return handlers.change_static_members("acme", segment_id, ids, adding, upkeep.segments, upkeep.profiles,
                                              clock)

    done = change(["p1", "p3", "ghost", "p1"])
    assert (done.changed, done.unchanged, done.not_found) == (["p1", "p3"], [], ["ghost"])
    drain(upkeep)
    assert feed.members("vip") == {"p1", "p3"}
    assert {e.record["payload"][1]["reason"] for e in feed.entries if e.record["aggregate_id"] == "vip"} == {
        "profiles_changed"}
    announced = len(feed.entries)
    again = change(["p1"])
    assert (again.changed, again.unchanged) == ([], ["p1"])
    drain(upkeep)
    assert len(feed.entries) == announced  # nothing moved: nothing announced
    assert handlers.count_members("acme", "vip", None, upkeep.segments, clock) == 2
    assert handlers.check_membership("acme", "vip", ["p1", "p2"], upkeep.segments, clock) == {"p1": True,
                                                                                               "p2": False}
    write(upkeep, "p1", 42.0)  # a profile write keeps its static memberships
    assert change(["p1", "p2"], adding=False).changed == ["p1"]
    drain(upkeep)
    assert feed.members("vip") == {"p3"} and feed.members("rules") == {"p1", "p3", "p4"}
    assert upkeep.profiles.get("other", "p0").static_segments == ()
    with pytest.raises(FailedPrecondition):
        change(["p1"], segment_id="rules")
    with pytest.raises(InvalidArgument):
        change([])

    handlers.delete_segment("acme", "vip", upkeep.segments, upkeep, upkeep.profiles, clock)
    assert upkeep.profiles.get("acme", "p3").static_segments == ()
    handlers.create_segment("acme", "vip", "VIP", "", "", {}, upkeep.segments, clock, lambda: "x", kind="static")
    assert handlers.count_members("acme", "vip", None, upkeep.segments, clock) == 0  # made again: empty
