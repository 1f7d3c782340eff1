"""Lookalike audiences through the REST edge: a seed segment of a planted
group, a lookalike fitted in the background, its read-only segment holding
mostly the rest of the group, re-cut, refit and deletion; bad input answers
400 with the field, another workspace sees nothing."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2

pytestmark = pytest.mark.e2e

PROFILES = 300
READY_TIMEOUT = 60.0


def grouped(i: int) -> bool:
    return i % 4 == 0


def in_seed(i: int) -> bool:
    return grouped(i) and i % 20 != 0  # the group carries the seed rule's mark, but for every fifth member


def import_planted_profiles(running, ws: str) -> None:
    rng = random.Random(3)
    records = []
    for i in range(PROFILES):
        attributes = [attribute_pb2.Attribute(key="ltv", double_value=rng.gauss(400 if grouped(i) else 100, 40)),
                      attribute_pb2.Attribute(key="visits", int_value=rng.randint(15, 30) if grouped(i)
                                              else rng.randint(0, 8)),
                      attribute_pb2.Attribute(key="plan", string_value="pro" if grouped(i)
                                              else rng.choice(["free", "team"]))]
        if in_seed(i):
            attributes.append(attribute_pb2.Attribute(key="club", bool_value=True))
        records.append(pb.ProfileRecord(profile_id=f"p{i:03d}", profile=profile_pb2.Profile(
            email=f"p{i}@example.com", attributes=attributes)))
    stub = pb_grpc.AudienceServiceStub(running.channel("audience"))
    response = stub.ImportProfiles(iter([pb.ImportProfilesRequest(parent=f"workspaces/{ws}", records=records)]),
                                   timeout=30)
    assert response.inserted == PROFILES, response


def create_segment(rest, ws: str, segment_id: str, rule: dict) -> str:
    created = rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId={segment_id}",
                        {"displayName": segment_id, "definition": json.dumps(rule)})
    assert created.status == 200, created.body
    return created.body["name"]


def wait_ready(rest, name: str) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        body = rest.call("GET", f"/v1/{name}").body
        if body["state"] != "STATE_TRAINING":
            assert body["state"] == "STATE_READY", body
            return body
        time.sleep(0.3)
    pytest.fail(f"{name} still training after {READY_TIMEOUT:.0f} s: {body}")


def violations(response) -> set[str]:
    return {v["field"] for d in response.body["details"] for v in d.get("fieldViolations", [])}


def test_a_lookalike_finds_the_rest_of_a_planted_group(running, lookalike_quality):
    rest = running.rest
    ws = f"lal-{uuid.uuid4().hex[:8]}"
    import_planted_profiles(running, ws)
    seed = create_segment(rest, ws, "club", {"attribute": "club", "op": "eq", "value": True})

    body = {"displayName": "Like the club", "seedSegment": seed, "topN": 10, "labels": {"team": "growth"}}
    path = f"/v1/workspaces/{ws}/lookalikes?lookalikeId=club-like&requestId=r-1"
    created = rest.call("POST", path, body)
    assert created.status == 200, created.body
    assert created.body["state"] == "STATE_TRAINING"
    assert rest.call("POST", path, body).body["name"] == created.body["name"]  # the same request again
    reused = rest.call("POST", path, {**body, "topN": 11})
    assert reused.status == 400 and violations(reused) == {"request_id"}
    name, segment = created.body["name"], created.body["segment"]
    assert (name, segment) == (f"workspaces/{ws}/lookalikes/club-like", f"workspaces/{ws}/segments/lookalike-club-like")

    ready = wait_ready(rest, name)
    assert ready["size"] == "10" and ready["progress"]["done"] == ready["progress"]["total"]
    quality = ready["quality"]
    lookalike_quality(f"e2e through the edge ({PROFILES} profiles, seed 60, 12 held out): precision@N "
                      f"{quality['precisionAtN']:.3f}, baseline {quality['baselinePrecision']:.4f}, "
                      f"AUC {quality['auc']:.3f}")
    assert quality["seedSize"] == "48"  # 60 seed members, 12 held out
    assert quality["precisionAtN"] >= 3 * quality["baselinePrecision"] and quality["auc"] >= 0.8, quality

    kept = rest.call("GET", f"/v1/{segment}").body
    assert (kept["kind"], kept["lookalike"], kept["size"]) == ("KIND_LOOKALIKE", name, "10")
    members = [int(m["profile"].rsplit("/p", 1)[1])
               for m in rest.call("GET", f"/v1/{segment}/members?pageSize=100").body["members"]]
    assert len(members) == 10 and not any(in_seed(i) for i in members)
    assert sum(grouped(i) for i in members) >= 8, members  # of the 15 group members outside the seed

    for method, body in (("PATCH", {"displayName": "Mine now"}), ("DELETE", None)):
        refused = rest.call(method, f"/v1/{segment}" + ("?updateMask=displayName" if body else ""), body)
        assert refused.status == 400 and refused.body["code"] == 9, refused.body  # FAILED_PRECONDITION
        assert name in refused.body["message"]
    seed_kept = rest.call("DELETE", f"/v1/{seed}")
    assert seed_kept.status == 400 and "seed of the lookalike" in seed_kept.body["message"]

    assert rest.call("GET", f"/v1/workspaces/other-{ws}/lookalikes/club-like").status == 404
    listed = rest.call("GET", f"/v1/workspaces/{ws}/lookalikes").body["lookalikes"]
    assert [x["name"] for x in listed] == [name]

    stale = rest.call("PATCH", f"/v1/{name}?updateMask=topN", {"topN": 5, "etag": created.body["etag"]})
    assert stale.status == 409, stale.body
    recut = rest.call("PATCH", f"/v1/{name}?updateMask=topN", {"topN": 5, "etag": ready["etag"]})
    assert recut.status == 200 and recut.body["state"] == "STATE_TRAINING", recut.body
    assert wait_ready(rest, name)["size"] == "5"
    assert rest.call("POST", f"/v1/{segment}:countMembers", {}).body["count"] == "5"

    refit = rest.call("POST", f"/v1/{name}:refit", {})
    assert refit.status == 200 and refit.body["state"] == "STATE_TRAINING"
    assert wait_ready(rest, name)["fitTime"] >= ready["fitTime"]

    assert rest.call("DELETE", f"/v1/{name}").status == 200
    assert rest.call("GET", f"/v1/{name}").status == 404
    assert rest.call("GET", f"/v1/{segment}").status == 404
    assert rest.call("DELETE", f"/v1/{seed}").status == 200  # no lookalike holds it any more


def test_bad_lookalikes_answer_400_naming_the_field(running):
    rest = running.rest
    ws = f"lal-{uuid.uuid4().hex[:8]}"
    import_planted_profiles(running, ws)
    seed = create_segment(rest, ws, "club", {"attribute": "club", "op": "eq", "value": True})
    few = create_segment(rest, ws, "few", {"attribute": "ltv", "op": "gt", "value": 10_000})
    path = f"/v1/workspaces/{ws}/lookalikes"

    missing = rest.call("POST", path, {"seedSegment": seed})
    assert missing.status == 400 and violations(missing) == {"lookalike.display_name", "lookalike.cutoff"}
    for cutoff, field in (({"topN": 0}, "lookalike.top_n"), ({"minScore": 1.5}, "lookalike.min_score")):
        response = rest.call("POST", path, {"displayName": "x", "seedSegment": seed, **cutoff})
        assert response.status == 400 and violations(response) == {field}, response.body
    bad_id = rest.call("POST", path + "?lookalikeId=Not_OK", {"displayName": "x", "seedSegment": seed, "topN": 5})
    assert bad_id.status == 400 and violations(bad_id) == {"lookalike_id"}

    for seed_name, why in ((few, "has 0 members"), (f"workspaces/other-{ws}/segments/club", "another workspace"),
                           (f"workspaces/{ws}/segments/nope", "does not exist")):
        refused = rest.call("POST", path, {"displayName": "x", "seedSegment": seed_name, "topN": 5})
        assert refused.status == 400 and refused.body["code"] == 9 and why in refused.body["message"], refused.body
    assert rest.call("GET", path).body.get("lookalikes", []) == []
