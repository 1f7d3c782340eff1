"""A failure injected at each step of the launch saga, end to end on the real stores, leaves no message of the
campaign queued in notify and no snapshot frozen in audience.

The platform runs with MKT_CAMPAIGN_FAULT_INJECTION=true (conftest.py); each campaign here carries the label
`mkt-fault-at` naming the step that fails for good (service_layer/faults.py), after the steps before it really
ran against audience, content and notify. Pages of 4 members (the campaign service is restarted with
MKT_CAMPAIGN_LAUNCH_PAGE_SIZE=4 for this module), two targets: `first` (8 members, two pages) and `second`
(4 members), through a provider limited to one email a second so that most messages still wait in notify
when the compensations cancel them.

How the messages are counted: notify's REST API lists the campaign's messages (filter `campaign = "<name>"`);
none may be QUEUED, DEFERRED or SENDING once the launch is FAILED; the CANCELLED ones are the launch's
`cancelledMessageCount`, the others (SENT, DELIVERED: handed to a provider) its `handedOverMessageCount`, and
together they are every message the launch handed to notify. The SMTP sink's emails of the workspace
(counted by their Message-ID's `.<workspace>@example.com>` suffix) are at most `handedOverMessageCount`
when the launch has failed, and a few seconds later exactly the messages notify shows handed to a provider:
nothing went out after the failure beyond what a provider already had."""

from __future__ import annotations

import json
import signal
import time
import urllib.parse
import uuid

import pytest

from devstack.servers import smtp_sink
from tests.e2e.test_campaign_launch import assert_campaign_failed

pytestmark = pytest.mark.e2e
PAGE_SIZE = "4"
FIRST, SECOND = 8, 4  # members of the two target segments
WAITING = {"STATE_QUEUED", "STATE_DEFERRED", "STATE_SENDING"}


def eventually(probe, what: str, timeout: float = 60, seen=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}: {seen()}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def small_pages(running):
    """The campaign service restarted (gracefully) with pages of 4 members; its own settings again after."""
    platform = running.platform
    campaign = next(c for c in platform.children if c.name == "campaign")

    def restart(env: dict[str, str]) -> None:
        campaign.process.send_signal(signal.SIGTERM)
        campaign.process.wait(timeout=30)
        campaign.env.clear()
        campaign.env.update(env)
        campaign.start(platform.env)  # not a crash: the supervisor's restart budget stays as it was
        eventually(lambda: platform.service_status("campaign") == "SERVING", "campaign back", 60)

    own = dict(campaign.env)
    restart({**own, "MKT_CAMPAIGN_LAUNCH_PAGE_SIZE": PAGE_SIZE})
    try:
        yield
    finally:
        restart(own)


def sink_count(running, ws: str) -> int:
    store = running.platform.state_dir / smtp_sink.STORE_NAME
    suffix = f".{ws}@example.com>"
    return sum(1 for m in smtp_sink.read_messages(store) if m["message_id"].endswith(suffix)) if store.exists() else 0


def campaign_messages(rest, ws: str, name: str) -> list[dict]:
    """Every message of the campaign in notify, through its REST API."""
    query = urllib.parse.quote(f'campaign = "{name}"')
    found, token = [], ""
    while True:
        page = rest.ok("GET", f"/v1/workspaces/{ws}/messages?pageSize=100&filter={query}&pageToken={token}")
        found += page.get("messages", [])
        if not (token := page.get("nextPageToken")):
            return found


def faulty_campaign(running, fault: str) -> tuple[str, str, dict[str, str]]:
    """A workspace with two target segments, a slow email provider and a started campaign labelled with
    `fault`: (workspace, campaign name, snapshot name that each target's freeze takes)."""
    rest, ws = running.rest, f"flt-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(FIRST + SECOND):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/p{i:02d}:upsert", {"profile": {
            "email": f"p{i:02d}@example.com", "consents": granted,
            "attributes": [{"key": "ltv", "doubleValue": 500 if i < FIRST else 5}]}})
    segments = {}
    for segment_id, op, count in (("first", "gte", FIRST), ("second", "lt", SECOND)):
        segment = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId={segment_id}", {
            "displayName": segment_id, "definition": json.dumps({"attribute": "ltv", "op": op, "value": 100})})
        eventually(lambda: rest.call("POST", f"/v1/{segment['name']}:countMembers", {}).body.get("count")
                   == str(count), f"{count} members in {segment_id}")
        segments[segment_id] = segment["name"]
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=news", {
        "displayName": "News", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "News", "html": "<p>News</p>", "text": "News"}}})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    rest.ok("POST", f"/v1/workspaces/{ws}/providers?providerId=slow", {
        "displayName": "Slow relay", "channel": "CHANNEL_EMAIL", "rateLimit": {"messagesPerSecond": 1, "burst": 1},
        "smtp": {"host": "127.0.0.1", "port": running.platform.smtp_sink_port, "security": "SECURITY_NONE",
                 "fromAddress": "news@example.com"}})
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": f"Fault at {fault}", "channels": ["CHANNEL_EMAIL"], "labels": {"mkt-fault-at": fault},
        "targetSegments": [segments["first"], segments["second"]],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template["name"]}],
        "schedule": {"startTime": start, "timeZone": "UTC"}})
    name = campaign["name"]
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{name}:{action}", {})
    campaign_id = name.rsplit("/", 1)[-1]
    return ws, name, {s: f"{segments[s]}/snapshots/launch-{campaign_id}-email" for s in ("first", "second")}


UNDO = [("STEP_CANCEL_MESSAGES", "OUTCOME_DONE"), ("STEP_RELEASE_SNAPSHOT", "OUTCOME_DONE")]
# label -> the failed step, its target, the steps done before it (step, target), the compensations after it,
# the messages the launch handed to notify
CASES = {
    "freeze_snapshot.2": ("STEP_FREEZE_SNAPSHOT", 1, [("STEP_FREEZE_SNAPSHOT", 0)],
                          [("STEP_RELEASE_SNAPSHOT", "OUTCOME_DONE")], 0),
    "preflight_render.2": ("STEP_PREFLIGHT_RENDER", 1, [("STEP_FREEZE_SNAPSHOT", 0), ("STEP_FREEZE_SNAPSHOT", 1),
                                                        ("STEP_PREFLIGHT_RENDER", 0)], UNDO, 0),
    # the first page of the first target (4 members) is handed over; its second page fails
    "schedule_deliveries.2": ("STEP_SCHEDULE_DELIVERIES", 0, [
        ("STEP_FREEZE_SNAPSHOT", 0), ("STEP_FREEZE_SNAPSHOT", 1), ("STEP_PREFLIGHT_RENDER", 0),
        ("STEP_PREFLIGHT_RENDER", 1)], UNDO, int(PAGE_SIZE)),
    "init_tracking": ("STEP_INIT_TRACKING", None, [
        ("STEP_FREEZE_SNAPSHOT", 0), ("STEP_FREEZE_SNAPSHOT", 1), ("STEP_PREFLIGHT_RENDER", 0),
        ("STEP_PREFLIGHT_RENDER", 1), ("STEP_SCHEDULE_DELIVERIES", 0), ("STEP_SCHEDULE_DELIVERIES", 1)],
        UNDO, FIRST + SECOND),
}


@pytest.mark.parametrize("fault", list(CASES))
def test_a_failure_injected_at_a_saga_step_leaves_nothing_queued_and_no_snapshot_frozen(running, small_pages,
                                                                                      fault):
    rest = running.rest
    step, index, done_before, undone, handed = CASES[fault]
    ws, name, snapshots = faulty_campaign(running, fault)

    launch = eventually(lambda: (r := rest.call("GET", f"/v1/{name}/launch")).status == 200
                        and r.body["state"] == "STATE_FAILED" and not r.body.get("compensating") and r.body,
                        "the launch to fail and compensate", 90,
                        seen=lambda: rest.call("GET", f"/v1/{name}/launch").body)
    sent_at_failure = sink_count(running, ws)

    # FAILED, naming the step and the reason; the earlier steps really ran; the compensations in reverse
    assert launch["failedStep"] == step, launch
    assert f"mkt-fault-at={fault}" in launch["failureReason"] and "injected fault" in launch["failureReason"]
    log = [(s["step"], s.get("target"), s["outcome"]) for s in launch["steps"]]
    failed_at = log.index((step, index, "OUTCOME_FAILED"))
    assert [(s, t) for s, t, o in log[:failed_at] if o == "OUTCOME_DONE"] == done_before, log
    assert [(s, o) for s, _, o in log[failed_at + 1:]] == undone, log
    if index is not None:
        assert launch["targets"][index]["state"] == "STATE_FAILED"
    assert sum(int(t.get("sent", 0)) + int(t.get("duplicates", 0)) for t in launch["targets"]) == handed

    # no snapshot left frozen in audience: each target's, taken or not, is gone
    for snapshot in snapshots.values():
        assert rest.call("GET", f"/v1/{snapshot}").status == 404, snapshot

    # no message of the campaign left queued in notify
    cancelled, handed_over = launch.get("cancelledMessageCount", 0), launch.get("handedOverMessageCount", 0)
    messages = campaign_messages(rest, ws, name)
    states = [m["state"] for m in messages]
    assert len(messages) == handed and not WAITING & set(states), states
    assert states.count("STATE_CANCELLED") == cancelled and len(messages) - cancelled == handed_over, (
        states, launch)
    if handed:
        assert cancelled > 0, states  # one email a second: most were still waiting when the cancel came

    # the SMTP sink: nothing after the failure beyond what a provider already had
    assert sent_at_failure <= handed_over
    time.sleep(3)  # an email that would still go out after the compensations has had the time to
    assert sink_count(running, ws) == handed_over == sum(1 for s in states if s != "STATE_CANCELLED")
    print(f"\n{fault}: {handed} handed to notify, {cancelled} cancelled, {handed_over} handed to a provider; "
          f"SMTP sink {sent_at_failure} at the failure, {sink_count(running, ws)} after 3 s")

    assert_campaign_failed(rest, ws, name)  # the campaign ends FAILED (final)
