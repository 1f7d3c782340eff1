"""Starting a campaign launches it: a frozen snapshot of each target segment's
reachable members (audience service), a preflight render (content service),
then their messages handed to the notify service, with progress and the step
log readable on the campaign's `launch`; a launch whose step fails for good is
compensated and shows FAILED with the step and the reason, and the campaign
itself becomes FAILED (final)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e


def started_campaign(rest, ws, segment_names):
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Welcome", "channels": ["CHANNEL_EMAIL"], "targetSegments": segment_names,
        "contents": [{"channel": "CHANNEL_EMAIL", "template": f"workspaces/{ws}/templates/welcome"}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}})
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{campaign['name']}:{action}", {})
    return campaign["name"]


def launch_when(rest, name, ready, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        response = rest.call("GET", f"/v1/{name}/launch")
        if response.status == 200 and ready(response.body):
            return response.body
        assert time.monotonic() < deadline, response.body
        time.sleep(0.3)


def assert_campaign_failed(rest, ws, name, timeout=60):
    """The upkeep moves a campaign whose launch failed for good to FAILED (campaign_failed), a final state:
    lifecycle calls answer FAILED_PRECONDITION naming it, the state filter finds it, delete is allowed."""
    campaign = launch_when(rest, name, lambda body: True)  # the launch exists; now the campaign's own state
    deadline = time.monotonic() + timeout
    while (campaign := rest.ok("GET", f"/v1/{name}"))["state"] != "STATE_FAILED":
        assert campaign["state"] == "STATE_RUNNING" and time.monotonic() < deadline, campaign
        time.sleep(0.3)
    history = rest.ok("GET", f"/v1/{name}/events")["events"]
    assert [e["type"] for e in history][-2:] == ["campaign_started", "campaign_failed"]
    for action in ("pause", "resume", "complete", "cancel"):
        refused = rest.call("POST", f"/v1/{name}:{action}", {})
        assert refused.status == 400 and f"cannot {action} a campaign in state FAILED" in refused.body["message"], \
            refused.body
    found = rest.ok("GET", f"/v1/workspaces/{ws}/campaigns?filter=state%20%3D%20STATE_FAILED")
    assert [c["name"] for c in found["campaigns"]] == [name]
    assert rest.call("DELETE", f"/v1/{name}").status == 200


def test_a_started_campaign_snapshots_its_segments_and_hands_messages_over(running):
    ws = f"lch-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(12):
        running.rest.ok("POST", f"/v1/workspaces/{ws}/profiles/p{i:02d}:upsert", {"profile": {
            "email": f"p{i}@example.com", "consents": granted if i % 4 else [],
            "attributes": [{"key": "ltv", "doubleValue": 10 * i}]}})
    running.rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=fans",
         {"displayName": "Fans", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 30})})
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/campaigns/nope/launch").status == 404
    template = running.rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=welcome", {
        "displayName": "Welcome", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Welcome", "html": "<p>Hi</p>", "text": "Hi"}}})
    running.rest.ok("POST", f"/v1/{template['name']}:publish", {})

    # a target segment that is gone fails the launch at its snapshot: the snapshot already frozen is released
    failed = started_campaign(running.rest, ws, [f"workspaces/{ws}/segments/fans",
                                                 f"workspaces/{ws}/segments/missing"])
    launch = launch_when(running.rest, failed, lambda body: body["state"] == "STATE_FAILED"
                         and not body.get("compensating"))
    fans, missing = launch["targets"]
    assert fans["snapshot"].startswith(f"workspaces/{ws}/segments/fans/snapshots/launch-")
    assert fans["total"] == "7"  # ltv >= 30 is p03..p11; p04 and p08 have no consent
    assert missing["state"] == "STATE_FAILED" and "NOT_FOUND" in missing["error"]
    assert launch["failedStep"] == "STEP_FREEZE_SNAPSHOT" and "NOT_FOUND" in launch["failureReason"]
    assert [(s["step"], s["outcome"]) for s in launch["steps"]][-2:] == [
        ("STEP_FREEZE_SNAPSHOT", "OUTCOME_FAILED"), ("STEP_RELEASE_SNAPSHOT", "OUTCOME_DONE")]
    assert running.rest.call("GET", f"/v1/{fans['snapshot']}").status == 404
    assert "progress" not in launch or launch["progress"].get("done", "0") == "0"
    assert_campaign_failed(running.rest, ws, failed)

    name = started_campaign(running.rest, ws, [f"workspaces/{ws}/segments/fans"])
    launch = launch_when(running.rest, name, lambda body: body["targets"][0].get("snapshot"))
    assert launch["targets"][0]["total"] == "7"
    # the notify service takes the messages, or (until it does) the launch waits and says why
    # (the target is done before the last step, tracking, has run: wait for the whole launch)
    launch = launch_when(running.rest, name, lambda body: body["state"] == "STATE_COMPLETED"
                         or "notify" in body.get("lastError", ""))
    if launch["state"] == "STATE_COMPLETED":
        assert launch["targets"][0]["state"] == "STATE_DONE"
        assert int(launch["targets"][0].get("sent", 0)) + int(launch["targets"][0].get("duplicates", 0)) == 7
        assert [s["step"] for s in launch["steps"]] == [
            "STEP_FREEZE_SNAPSHOT", "STEP_PREFLIGHT_RENDER", "STEP_SCHEDULE_DELIVERIES", "STEP_INIT_TRACKING"]
    else:
        assert launch["state"] == "STATE_RUNNING" and launch["nextAttemptTime"]
    paused = running.rest.ok("POST", f"/v1/{name}:pause", {})
    assert paused["state"] == "STATE_PAUSED"
