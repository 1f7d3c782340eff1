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
    assert running.rest.call("GET", f"/v1/workspaces/other/segments/big-spenders").status == 404
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
