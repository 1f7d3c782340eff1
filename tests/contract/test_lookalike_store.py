"""The lookalike store and a whole fit by the worker, on both MongoDB-wire
servers: lookalike documents round-trip and refuse stale writes, the lease
keeps a second worker off, score writes of more than one bulk chunk land (and
make a concurrent whole-profile writer retry), and the lookalike segment's one
filter selects the profiles scoring from the threshold up, seed left out."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pymongo import MongoClient

from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.adapters.lookalike_store import LookalikeStore
from svc_audience.adapters.repository import BULK_CHUNK, MongoProfileRepository, ensure_indexes, to_document
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.domain.lookalike import CUT, FIT, KIND, READY, TRAINING, Lookalike, Progress, Quality
from svc_audience.domain.model import Profile, ProfileData
from svc_audience.domain.segments import Segment
from svc_audience.service_layer.lookalike_fitting import LookalikeWorker
from svc_audience.service_layer.segments import segment_filter

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEED_RULE = json.dumps({"attribute": "club", "op": "eq", "value": True})


def planted_profiles(workspace: str, count: int) -> list[Profile]:
    """Profiles p000..: every fourth is in a hidden group with higher spend and
    more visits; the group carries the `club` mark the seed rule uses, but for
    every sixth of its members (every 24th profile)."""
    rng = np.random.default_rng(5)
    profiles = []
    for i in range(count):
        grouped = i % 4 == 0
        attributes = {"ltv": float(rng.normal(400 if grouped else 100, 40)),
                      "visits": int(rng.poisson(20 if grouped else 3)),
                      "plan": "pro" if grouped else str(rng.choice(["free", "team"]))}
        if grouped and i % 24 != 0:
            attributes["club"] = True
        profiles.append(Profile(workspace, f"p{i:03d}").merged(ProfileData(attributes=attributes), (), NOW))
    return profiles


@pytest.fixture(scope="module", params=["nx", "ferretdb"])
def database(request):
    server = request.getfixturevalue(f"{request.param}_server")
    client = MongoClient(server.url, tz_aware=True)
    db = client[f"lookalikes_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(db)
    SegmentStore(db).ensure_indexes()
    LookalikeStore(db).ensure_indexes()
    yield db
    client.drop_database(db.name)
    client.close()


def a_lookalike(workspace: str, lookalike_id: str, **changes) -> Lookalike:
    return replace(Lookalike(workspace, lookalike_id, "Like buyers", "buyers", top_n=50, create_time=NOW,
                             update_time=NOW), **changes)


def test_a_lookalike_round_trips_and_refuses_a_stale_write(database):
    store = LookalikeStore(database)
    quality = Quality(0.4, 0.05, 0.91, 80, 20)
    stored = a_lookalike("acme", "rt", pending="", labels={"team": "growth"}, features=("ltv", "purchase"), quality=quality,
                         progress=Progress(5, 10, 1_700_000_000_000, 1_700_000_001_000), fit_time=NOW,
                         threshold=0.625, include_seed_members=True)
    store.add(stored)
    with pytest.raises(AlreadyExists):
        store.add(stored)
    assert store.get("acme", "rt") == stored
    assert store.get("other", "rt") is None
    changed = replace(stored, display_name="Renamed", version=2, update_time=NOW + timedelta(seconds=1))
    store.save(changed, 1)
    with pytest.raises(Aborted):
        store.save(replace(stored, display_name="Lost", version=2), 1)
    assert store.get("acme", "rt") == changed
    store.add(a_lookalike("acme", "rt2", pending="", request_id="req-1"))
    assert [x.lookalike_id for x in store.list("acme", "", 10)] == ["rt", "rt2"]
    assert [x.lookalike_id for x in store.list("acme", "rt", 10)] == ["rt2"]
    assert store.find_by_request_id("acme", "req-1").lookalike_id == "rt2"
    assert store.remove("acme", "rt2") and not store.remove("acme", "rt2")


def test_the_lease_keeps_a_second_worker_off_until_released(database):
    store = LookalikeStore(database)
    store.add(a_lookalike("lease", "owed", pending=CUT))
    store.add(a_lookalike("lease", "idle", pending=""))
    first = store.claim_next("worker-a", 1_000, 60_000)
    assert first is not None and first.lookalike_id == "owed"
    assert store.claim_next("worker-b", 2_000, 60_000) is None
    assert store.renew("lease", "owed", "worker-a", 3_000, 60_000, Progress(1, 4, 1_000, 3_000)) == 1
    assert store.renew("lease", "owed", "worker-b", 3_000, 60_000, Progress()) is None
    assert store.get("lease", "owed").progress == Progress(1, 4, 1_000, 3_000)
    store.release("lease", "owed", "worker-a")
    assert store.claim_next("worker-b", 4_000, 60_000).lookalike_id == "owed"
    assert store.claim_next("worker-c", 70_000, 60_000).lookalike_id == "owed"  # worker-b's lease ran out
    store.remove("lease", "owed")


def test_scores_land_in_chunks_and_the_segment_filter_cuts_at_the_threshold(database):
    repository = MongoProfileRepository(database)
    store = LookalikeStore(database)
    profiles = planted_profiles("cut", 2 * BULK_CHUNK + 20) + planted_profiles("cut-other", 5)
    database["profiles"].insert_many([to_document(p) for p in profiles])
    docs = [d for batch in store.profile_batches("cut", 64) for d in batch]
    assert len(docs) == 2 * BULK_CHUNK + 20 and {"_id", "external_id", "attributes"} <= docs[0].keys()
    scores = {d["external_id"]: round(int(d["external_id"][1:]) / 1000, 9) for d in docs}
    store.write_scores("cut", "lk", [(d["_id"], scores[d["external_id"]]) for d in docs])
    read = {i: s for batch in store.score_batches("cut", "lk", 50) for i, s in batch}
    assert read == scores
    stored = repository.get("cut", "p007")
    assert stored.scores == {"lk": 0.007} and stored.version == 2
    with pytest.raises(Aborted):  # a writer holding the profile from before the score retries
        repository.save(replace(profiles[7], email="late@example.com", version=2), 1)
    segments = SegmentStore(database)
    segment = Segment("cut", "lookalike-lk", "Like", "", kind=KIND, lookalike="lk", seed_segment="club")
    segments.add(segment)
    assert segments.count(segment_filter(segments.get("cut", "lookalike-lk"), NOW)) == 0  # not fitted yet
    store.set_cut("cut", "lookalike-lk", 0.15, SEED_RULE)
    cut = segments.get("cut", "lookalike-lk")
    expected = sorted(i for i, s in scores.items() if s >= 0.15 and "club" not in profiles[int(i[1:])].attributes)
    assert list(segments.stream(segment_filter(cut, NOW), "", False, 100)) == expected
    assert segments.lookalike_seeded_by("cut", "club").segment_id == "lookalike-lk"
    store.remove_scores("cut", "lk")
    assert list(store.score_batches("cut", "lk", 50)) == [] and repository.get("cut", "p007").scores == {}


def test_the_worker_fits_scores_and_cuts_the_audience(database):
    workspace = "fit"
    database["profiles"].insert_many([to_document(p) for p in planted_profiles(workspace, 240)])
    segments = SegmentStore(database)
    store = LookalikeStore(database)
    segments.add(Segment(workspace, "club", "Club", SEED_RULE))
    segments.add(Segment(workspace, "lookalike-lk", "Like club", "", kind=KIND, lookalike="lk", seed_segment="club"))
    store.add(a_lookalike(workspace, "lk", seed_segment="club", top_n=8))
    worker = LookalikeWorker(store, segments, lambda: NOW)
    assert worker.run_once(threading.Event())
    done = store.get(workspace, "lk")
    assert (done.state, done.pending, done.state_message) == (READY, "", "")
    assert done.size == 8 and done.fit_time == NOW and done.progress.done == done.progress.total == 480
    assert done.quality.seed_size == 40 and done.quality.held_out == 10
    assert done.quality.precision_at_n >= 3 * done.quality.baseline_precision and done.quality.auc >= 0.8
    members = list(segments.stream(segment_filter(segments.get(workspace, "lookalike-lk"), NOW), "", False, 100))
    in_seed = [m for m in members if int(m[1:]) % 4 == 0 and int(m[1:]) % 24 != 0]
    assert len(members) == 8 and not in_seed
    assert sum(int(m[1:]) % 24 == 0 for m in members) >= 7  # the group's members outside the seed
    assert not worker.run_once(threading.Event())  # nothing more is owed
    store.save(replace(done, top_n=5, pending=CUT, state=TRAINING, generation=2, version=done.version + 1),
               done.version)
    assert worker.run_once(threading.Event())
    recut = store.get(workspace, "lk")
    assert (recut.state, recut.size, recut.quality) == (READY, 5, done.quality)
    assert segments.count(segment_filter(segments.get(workspace, "lookalike-lk"), NOW)) == 5
    store.save(replace(recut, seed_segment="gone", pending=FIT, state=TRAINING, generation=3,
                       version=recut.version + 1), recut.version)
    assert worker.run_once(threading.Event())
    failed = store.get(workspace, "lk")
    assert failed.state == "FAILED" and "no longer exists" in failed.state_message
