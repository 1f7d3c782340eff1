"""Every request that names another resource must name one of its own workspace: for each such field,
a request in workspace A naming B's (existing) resource is refused, through the REST edge against the
running platform, and nothing is created."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.e2e


def ok(response):
    assert response.status == 200, response.body
    return response.body


def field_violations(response) -> list[str]:
    return [v["field"] for d in response.body.get("details", []) for v in d.get("fieldViolations", [])]


@pytest.fixture(scope="module")
def two_workspaces(running):
    rest = running.rest
    a, b = (f"xws-{x}-{uuid.uuid4().hex[:6]}" for x in ("a", "b"))
    names = {}
    for ws in (a, b):
        ok(rest.call("POST", f"/v1/workspaces/{ws}/profiles/p1:upsert", {"profile": {
            "email": "p1@example.com", "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}}))
        segment = ok(rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=all", {
            "displayName": "All", "definition": json.dumps({"attribute": "email", "op": "exists"})}))
        template = ok(rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=t1", {
            "displayName": "T", "channel": "CHANNEL_EMAIL",
            "content": {"email": {"subject": "Hi {{ profile.email }}", "html": "<p>Hi</p>", "text": "Hi"}}}))
        campaign = ok(rest.call("POST", f"/v1/workspaces/{ws}/campaigns?campaignId=c1", {"displayName": "C"}))
        names[ws] = {"profile": f"workspaces/{ws}/profiles/p1", "segment": segment["name"],
                     "template": template["name"], "campaign": campaign["name"]}
    return a, b, names


def event(**names) -> dict:
    return {"eventId": uuid.uuid4().hex, "type": "purchase", "eventTime": "2026-01-01T00:00:00Z", **names}


# (case, method, path in A, body naming B's resources, the field the refusal names)
CASES = [
    ("campaign target segment", "POST", "/v1/{A}/campaigns",
     lambda B: {"displayName": "x", "targetSegments": [B["segment"]]}, "campaign.target_segments[0]"),
    ("campaign content template", "POST", "/v1/{A}/campaigns",
     lambda B: {"displayName": "x", "contents": [{"channel": "CHANNEL_EMAIL", "template": B["template"]}]},
     "campaign.contents[0].template"),
    ("updated campaign target segment", "PATCH", "/v1/{A}/campaigns/c1?updateMask=targetSegments",
     lambda B: {"targetSegments": [B["segment"]]}, "campaign.target_segments[0]"),
    ("reachability profiles", "POST", "/v1/{A}/profiles:checkReachability",
     lambda B: {"channel": "CHANNEL_EMAIL", "profiles": [B["profile"]]}, "profiles[0]"),
    ("segment membership profiles", "POST", "/v1/{A}/segments/all:checkMembership",
     lambda B: {"profiles": [B["profile"]]}, "profiles[0]"),
    ("snapshot campaign", "POST", "/v1/{A}/segments/all/snapshots",
     lambda B: {"channel": "CHANNEL_EMAIL", "campaign": B["campaign"]}, "segment_snapshot.campaign"),
    ("lookalike seed", "POST", "/v1/{A}/lookalikes",
     lambda B: {"displayName": "x", "seedSegment": B["segment"], "topN": 5}, "lookalike.seed_segment"),
    ("suppression profile", "POST", "/v1/{A}/suppressions",
     lambda B: {"profile": B["profile"], "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL"}, "suppression.profile"),
    ("suppression campaign", "POST", "/v1/{A}/suppressions",
     lambda B: {"email": "x@example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL",
                "campaign": B["campaign"]}, "suppression.campaign"),
    ("render profile", "POST", "/v1/{A}/templates/t1:render",
     lambda B: {"context": {"profile": B["profile"]}}, "context.profile"),
    ("render segments", "POST", "/v1/{A}/templates/t1:render",
     lambda B: {"context": {"segments": [B["segment"]]}}, "context.segments[0]"),
    ("render campaign", "POST", "/v1/{A}/templates/t1:render",
     lambda B: {"campaign": B["campaign"]}, "campaign"),
    ("batch render profile", "POST", "/v1/{A}/templates/t1:batchRender",
     lambda B: {"contexts": [{"profile": B["profile"]}]}, "contexts[0].profile"),
    ("send recipient", "POST", "/v1/{A}/messages:send",
     lambda B: {"message": {"channel": "CHANNEL_EMAIL", "recipient": B["profile"], "idempotencyKey": "k1",
                            "content": {"email": {"subject": "s", "text": "t"}}}}, "message.recipient"),
    ("batch send recipient", "POST", "/v1/{A}/messages:batchSend",
     lambda B: {"requests": [{"message": {"channel": "CHANNEL_EMAIL", "recipient": B["profile"],
                                          "idempotencyKey": "k4", "content": {"email": {"subject": "s", "text": "t"}}}}]},
     "message.recipient"),
    ("send template", "POST", "/v1/{A}/messages:send",
     lambda B: {"message": {"channel": "CHANNEL_EMAIL", "recipient": B["profile"].replace(B["ws"], B["A"]),
                            "idempotencyKey": "k2", "template": {"template": B["template"]}}},
     "message.template.template"),
    ("send campaign", "POST", "/v1/{A}/messages:send",
     lambda B: {"message": {"channel": "CHANNEL_EMAIL", "recipient": B["profile"].replace(B["ws"], B["A"]),
                            "idempotencyKey": "k3", "campaign": B["campaign"],
                            "content": {"email": {"subject": "s", "text": "t"}}}}, "message.campaign"),
    ("hold campaign messages", "POST", "/v1/{A}/messages:holdCampaign",
     lambda B: {"campaign": B["campaign"]}, "campaign"),
    ("cancel campaign messages", "POST", "/v1/{A}/messages:cancelCampaign",
     lambda B: {"campaign": B["campaign"]}, "campaign"),
    ("release campaign messages", "POST", "/v1/{A}/messages:releaseCampaign",
     lambda B: {"campaign": B["campaign"]}, "campaign"),
    ("event profile", "POST", "/v1/{A}/events:ingest",
     lambda B: {"events": [event(profile=B["profile"])]}, "events[0].profile"),
    ("event campaign", "POST", "/v1/{A}/events:ingest",
     lambda B: {"events": [event(campaign=B["campaign"])]}, "events[0].campaign"),
]


@pytest.mark.parametrize(("case", "method", "path", "body", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_name_from_another_workspace_is_refused(running, two_workspaces, case, method, path, body, field):
    a, b, names = two_workspaces
    other = {**names[b], "ws": b, "A": a}
    response = running.rest.call(method, path.format(A=f"workspaces/{a}"), body(other))
    if case.startswith("batch") and response.status == 200:  # a batch may answer each item: its error names the field
        error = response.body["results"][0]["error"]
        assert (response.status, error["code"]) == (200, 3) and field in error["message"], (case, response.body)
        return
    assert response.status in (400, 404), (case, response.status, response.body)
    if response.status == 400 and response.body.get("code") == 3:
        fields = field_violations(response)
        assert field in fields or case.startswith("batch") and any(f.endswith("." + field) for f in fields), (
            case, response.body)
    elif response.status == 400:  # FAILED_PRECONDITION: the lookalike's seed, named in the message
        assert "another workspace" in response.body["message"], (case, response.body)
