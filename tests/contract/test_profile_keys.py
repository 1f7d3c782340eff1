"""Profile documents are keyed by workspace and external id (`_id` is
"<workspace>/<external id>"), on both MongoDB-wire servers: profiles stored
before that (with a generated _id) are moved to their key once, when the
indexes are ensured, and a move cut short by a crash is finished the next
time. Also: the spellings the segment compiler picks for nx-27017's sake
(`in` as an $or of equalities up to SHORT_IN values, $in beyond; consent
"unknown") select the same profiles as a plain evaluation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from pymongo import MongoClient

from svc_kit.channels import Channel

from svc_audience.adapters.repository import (KEYED_BY_ID, META, PROFILES, REKEYING, MongoProfileRepository,
                                              ensure_indexes, profile_key, to_document)
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.domain.model import Consent, ConsentStatus, Profile, ProfileData
from svc_audience.domain.segments import SHORT_IN, compile_rule

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def database(mongo_server):
    client = MongoClient(mongo_server.url, tz_aware=True, socketTimeoutMS=60_000)
    database = client[f"keys_{uuid.uuid4().hex[:10]}"]
    yield database
    client.drop_database(database.name)
    client.close()


def profile(workspace: str, external_id: str, n: int = 0) -> Profile:
    return Profile(workspace, external_id).merged(ProfileData(email=f"{external_id}@example.com",
                                                              attributes={"n": n}), (), T0)


def legacy_document(p: Profile) -> dict:
    document = to_document(p)
    document["_id"] = ObjectId()
    return document


def test_new_profiles_are_keyed_by_workspace_and_external_id(database):
    ensure_indexes(database)
    repo = MongoProfileRepository(database)
    repo.add(profile("acme", "u-1"))
    repo.save_many([(profile("acme", "u-2"), 0), (profile("other", "u-1"), 0)])
    assert sorted(d["_id"] for d in database[PROFILES].find({}, {"_id": 1})) == ["acme/u-1", "acme/u-2", "other/u-1"]
    assert profile_key("acme", "u-1") == "acme/u-1"


def test_legacy_profiles_move_to_their_key_once(database):
    legacy = [profile("acme", f"u-{i}", i) for i in range(5)] + [profile("other", "u-0", 99)]
    database[PROFILES].insert_many([legacy_document(p) for p in legacy])
    ensure_indexes(database)  # moves them
    repo = MongoProfileRepository(database)
    assert sorted(d["_id"] for d in database[PROFILES].find({}, {"_id": 1})) == sorted(
        f"{p.workspace}/{p.external_id}" for p in legacy)
    assert repo.get("acme", "u-3") == legacy[3] and repo.get("other", "u-0").attributes["n"] == 99
    assert repo.get_many("acme", ["u-0", "u-4"]).keys() == {"u-0", "u-4"}
    assert database[META].find_one({"_id": KEYED_BY_ID})["moved"] == 6
    # Once only: a profile with a generated _id written afterwards stays as it is.
    database[PROFILES].insert_one(legacy_document(profile("acme", "late")))
    ensure_indexes(database)
    assert database[PROFILES].count_documents({"external_id": "late", "_id": "acme/late"}) == 0


def test_a_move_cut_short_is_finished_at_the_next_start(database):
    ensure_indexes(database)
    database[META].delete_many({})  # as before the first start of this release
    cut_after_copy = legacy_document(profile("acme", "a", 1))  # copied aside, not yet deleted
    cut_after_delete = legacy_document(profile("acme", "b", 2))  # copied aside and deleted, not yet inserted
    cut_after_insert = profile("acme", "c", 3)  # inserted under its key, the copy not yet dropped
    database[PROFILES].insert_one(cut_after_copy)
    database[REKEYING].insert_many([dict(cut_after_copy), dict(cut_after_delete),
                                    legacy_document(cut_after_insert)])
    database[PROFILES].insert_one(to_document(cut_after_insert))
    ensure_indexes(database)
    repo = MongoProfileRepository(database)
    assert [(p.external_id, p.attributes["n"]) for p in repo.list("acme", "", 10)] == [("a", 1), ("b", 2), ("c", 3)]
    assert database[PROFILES].count_documents({}) == 3 and database[REKEYING].count_documents({}) == 0


def test_in_lists_and_unknown_consent_select_what_a_plain_evaluation_selects(database):
    ensure_indexes(database)
    plans = [f"plan-{i}" for i in range(SHORT_IN + 8)]
    profiles = []
    for i in range(60):
        consents = {} if i % 3 == 0 else {Channel.EMAIL: Consent(
            [ConsentStatus.GRANTED, ConsentStatus.UNKNOWN][i % 3 - 1], T0)}
        profiles.append(Profile("acme", f"p{i:02d}").merged(ProfileData(
            attributes={"plan": plans[i % len(plans)]}, consents=consents), (), T0))
    MongoProfileRepository(database).save_many([(p, 0) for p in profiles])
    store = SegmentStore(database)

    def selected(rule: dict) -> set[str]:
        query = compile_rule(rule, "acme", T0)
        found = {d["external_id"] for d in database[PROFILES].find(query, {"_id": 0, "external_id": 1})}
        assert store.count(query) == len(found)
        return found

    for values in (plans[:1], plans[:3], plans[:SHORT_IN], plans[:SHORT_IN + 1], plans):
        assert selected({"attribute": "plan", "op": "in", "values": values}) == {
            p.external_id for p in profiles if p.attributes["plan"] in values}, len(values)
    assert selected({"consent": "email", "status": "unknown"}) == {
        p.external_id for p in profiles
        if Channel.EMAIL not in p.consents or p.consents[Channel.EMAIL].status == ConsentStatus.UNKNOWN}
