"""Segments through the REST edge: create from rules, count, check, list the
members reachable on a channel."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.e2e


def upsert(rest, ws, external_id, profile):
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert", {"profile": profile})
    assert response.status == 200, response.body


def test_a_segment_counts_checks_and_lists_its_members(running):
    ws = f"seg-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    upsert(running.rest, ws, "a", {"email": "a@example.com", "attributes": [{"key": "ltv", "doubleValue": 300}],
                                   "consents": granted})
    upsert(running.rest, ws, "b", {"email": "b@example.com", "attributes": [{"key": "ltv", "doubleValue": 250}]})
    upsert(running.rest, ws, "c", {"attributes": [{"key": "ltv", "doubleValue": 500}], "consents": granted})
    upsert(running.rest, ws, "d", {"email": "d@example.com", "attributes": [{"key": "ltv", "doubleValue": 10}],
                                   "consents": granted})
    rule = {"attribute": "ltv", "op": "gte", "value": 200}
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=big-spenders",
                                {"displayName": "Big spenders", "definition": json.dumps(rule)})
    assert created.status == 200, created.body
    assert created.body["size"] == "3" and created.body["state"] == "STATE_ACTIVE"
    name = created.body["name"]
    count = running.rest.call("POST", f"/v1/{name}:countMembers", {"channel": "CHANNEL_EMAIL"})
    assert count.body["count"] == "1"  # b has no consent, c has no email
    check = running.rest.call("POST", f"/v1/{name}:checkMembership",
                              {"profiles": [f"workspaces/{ws}/profiles/a", f"workspaces/{ws}/profiles/d"]})
    assert [m["member"] for m in check.body["memberships"]] == [True, False]
    members = running.rest.call("GET", f"/v1/{name}/members?pageSize=2").body
    assert [m["profile"].rsplit("/", 1)[1] for m in members["members"]] == ["a", "b"]
    rest = running.rest.call("GET", f"/v1/{name}/members?pageSize=2&pageToken={members['nextPageToken']}").body
    assert [m["profile"].rsplit("/", 1)[1] for m in rest["members"]] == ["c"]
    email = running.rest.call("GET", f"/v1/{name}/members?channel=CHANNEL_EMAIL&view=MEMBER_VIEW_FULL").body
    assert [m["details"]["email"] for m in email["members"]] == ["a@example.com"]
    assert running.rest.call("GET", "/v1/workspaces/other/segments/big-spenders").status == 404
    assert running.rest.call("DELETE", f"/v1/{name}").status == 200


def test_a_bad_rule_names_the_rule_and_why(running):
    ws = f"seg-{uuid.uuid4().hex[:8]}"
    rule = {"and": [{"attribute": "ltv", "op": "gte", "value": 200}, {"consent": "fax", "status": "granted"}]}
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/segments",
                                 {"displayName": "Broken", "definition": json.dumps(rule)})
    assert response.status == 400
    violation = response.body["details"][-1]["fieldViolations"][0]
    assert violation["field"] == "segment.definition.and[1].consent"
    assert "unknown channel 'fax'" in violation["description"]
    not_json = running.rest.call("POST", f"/v1/workspaces/{ws}/segments",
                                 {"displayName": "Broken", "definition": "{nope"})
    assert not_json.status == 400 and "not JSON" in not_json.body["message"]


def test_a_suppressed_member_leaves_the_channels_list(running):
    ws = f"sup-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"},
               {"channel": "CHANNEL_SMS", "status": "STATUS_GRANTED"}]
    for i in range(3):
        upsert(running.rest, ws, f"p{i}", {"email": f"p{i}@example.com", "phone": f"+3361234567{i}",
                                           "consents": granted})
    segment = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=all",
                                {"displayName": "Everyone", "definition": json.dumps(
                                    {"attribute": "email", "op": "exists"})}).body["name"]

    def listed(channel):
        body = running.rest.call("GET", f"/v1/{segment}/members?channel={channel}").body
        return [m["profile"].rsplit("/", 1)[1] for m in body["members"]]

    assert listed("CHANNEL_EMAIL") == ["p0", "p1", "p2"]
    bounced = running.rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                                {"email": "P1@Example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_BOUNCED"})
    assert bounced.status == 200, bounced.body
    assert bounced.body["email"] == "p1@example.com"
    assert listed("CHANNEL_EMAIL") == ["p0", "p2"]
    assert listed("CHANNEL_SMS") == ["p0", "p1", "p2"]  # only email was suppressed
    everywhere = running.rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                                   {"profile": f"workspaces/{ws}/profiles/p2", "reason": "REASON_MANUAL"})
    assert everywhere.status == 200, everywhere.body
    assert listed("CHANNEL_SMS") == ["p0", "p1"]
    assert running.rest.call("POST", f"/v1/{segment}:countMembers", {"channel": "CHANNEL_EMAIL"}).body["count"] == "1"
    again = running.rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                              {"email": "p1@example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL"})
    assert again.status == 409
    bad = running.rest.call("POST", f"/v1/workspaces/{ws}/suppressions", {"email": "nope", "reason": "REASON_MANUAL"})
    assert bad.status == 400
    assert running.rest.call("DELETE", f"/v1/{bounced.body['name']}").status == 200
    assert listed("CHANNEL_EMAIL") == ["p0", "p1"]
    page = running.rest.call("GET", f"/v1/workspaces/{ws}/suppressions").body
    assert [s.get("profile") for s in page["suppressions"]] == [f"workspaces/{ws}/profiles/p2"]


def test_members_stream_in_batches_and_resume(running):

    from marketing.audience.v1 import audience_service_pb2 as pb
    from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
    from marketing.common.v1 import channel_pb2

    ws = f"str-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(7):
        upsert(running.rest, ws, f"m{i}", {"email": f"m{i}@example.com", "consents": granted if i != 3 else []})
    name = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=all", {
        "displayName": "All", "definition": json.dumps({"attribute": "email", "op": "exists"})}).body["name"]
    with running.channel("audience") as channel:
        stub = pb_grpc.AudienceServiceStub(channel)
        batches = list(stub.StreamSegmentMembers(pb.StreamSegmentMembersRequest(
            parent=name, channel=channel_pb2.CHANNEL_EMAIL, batch_size=2), timeout=10))
        assert [len(b.members) for b in batches] == [2, 2, 2]
        seen = [m.profile.rsplit("/", 1)[1] for b in batches for m in b.members]
        assert seen == ["m0", "m1", "m2", "m4", "m5", "m6"]  # m3 has no email consent
        resumed = list(stub.StreamSegmentMembers(pb.StreamSegmentMembersRequest(
            parent=name, channel=channel_pb2.CHANNEL_EMAIL, batch_size=2, resume_token=batches[0].resume_token),
            timeout=10))
        assert [m.profile.rsplit("/", 1)[1] for b in resumed for m in b.members] == seen[2:]


def test_a_snapshot_keeps_its_members_until_an_erasure(running):
    import time

    ws = f"snap-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(3):
        upsert(running.rest, ws, f"s{i}", {"email": f"s{i}@example.com", "consents": granted,
                                           "attributes": [{"key": "vip", "boolValue": True}]})
    segment = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=vip", {
        "displayName": "VIP", "definition": json.dumps({"attribute": "vip", "op": "eq", "value": True})}).body["name"]
    created = running.rest.call("POST", f"/v1/{segment}/snapshots?segmentSnapshotId=launch",
                                {"channel": "CHANNEL_EMAIL", "campaign": f"workspaces/{ws}/campaigns/spring"})
    assert created.status == 200, created.body
    assert created.body["size"] == "3" and created.body["state"] == "STATE_READY"
    snapshot = created.body["name"]

    def frozen():
        return [m["profile"].rsplit("/", 1)[1] for m in running.rest.call("GET", f"/v1/{snapshot}/members").body[
            "members"]]

    upsert(running.rest, ws, "s1", {"attributes": [{"key": "vip", "boolValue": False}]})
    upsert(running.rest, ws, "s9", {"email": "s9@example.com", "consents": granted,
                                    "attributes": [{"key": "vip", "boolValue": True}]})
    assert frozen() == ["s0", "s1", "s2"]  # later changes do not alter it
    assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/s2").status == 200
    deadline = time.monotonic() + 30
    while frozen() != ["s0", "s1"]:  # the erasure reaches the snapshot through profile_erased
        assert time.monotonic() < deadline, frozen()
        time.sleep(0.1)
    assert running.rest.call("GET", f"/v1/{segment}/snapshots").body["segmentSnapshots"][0]["name"] == snapshot
    assert running.rest.call("DELETE", f"/v1/{snapshot}").status == 200
    assert running.rest.call("GET", f"/v1/{snapshot}").status == 404


def test_a_rule_segment_changes_with_its_etag_and_profiles_are_read_in_batches(running):
    ws = f"seg-{uuid.uuid4().hex[:8]}"
    for external_id, ltv in (("a", 10), ("b", 20), ("c", 30)):
        upsert(running.rest, ws, external_id, {"attributes": [{"key": "ltv", "doubleValue": ltv}]})
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=mid", {
        "displayName": "Mid", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 20})}).body
    assert created["size"] == "2" and created["etag"]
    changed = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=definition,displayName", {
        "displayName": "High", "etag": created["etag"],
        "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 30})})
    assert changed.status == 200, changed.body
    assert (changed.body["displayName"], changed.body["size"]) == ("High", "1")
    stale = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=displayName",
                              {"displayName": "Again", "etag": created["etag"]})
    assert stale.status == 409
    bad = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=definition", {"definition": "{\"or\": []}"})
    assert bad.status == 400 and "segment.definition.or" in json.dumps(bad.body)

    names = [f"workspaces/{ws}/profiles/{i}" for i in ("c", "a", "zz")]
    missing = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles:batchGet?names={names[0]}&names={names[2]}")
    assert missing.status == 404
    found = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles:batchGet?names={names[0]}&names={names[1]}"
                              f"&names={names[2]}&allowMissing=true")
    assert found.status == 200, found.body
    assert [p["name"] for p in found.body["profiles"]] == names[:2]
