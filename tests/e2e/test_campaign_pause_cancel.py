"""Pause and cancel of a launched campaign reach its messages in the notify
service (through the REST edge, on the embedded stores): a slow provider (a
rate limit) keeps most messages DEFERRED; `:pause` holds them until `:resume`,
and `:cancel` cancels every one no provider has yet, after which the SMTP sink
receives no more than the launch reports handed over."""

from __future__ import annotations

import email
import email.policy
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.servers import smtp_sink

pytestmark = pytest.mark.e2e


def wait_until(what, probe, timeout=60.0, seen=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}: {seen()}"
        time.sleep(0.3)


def received(running, ws: str) -> int:
    store = running.platform.state_dir / smtp_sink.STORE_NAME
    stored = smtp_sink.read_messages(store) if store.exists() else []
    mails = [email.message_from_string(m["data"], policy=email.policy.default) for m in stored]
    return sum(1 for m in mails if (m["X-Notify-Message"] or "").startswith(f"workspaces/{ws}/"))


def launched(running, prefix: str, people: int, per_second: float) -> tuple[str, str]:
    """A started campaign to `people` recipients through a provider that sends `per_second` emails a second."""
    rest, ws = running.rest, f"{prefix}-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(people):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/p{i:03d}:upsert", {"profile": {
            "email": f"p{i}@example.com", "consents": granted, "attributes": [{"key": "ltv", "doubleValue": 50}]}})
    segment = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=all", {
        "displayName": "All", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 10})})
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=news", {
        "displayName": "News", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "News", "html": "<p>News</p>", "text": "News"}}})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    rest.ok("POST", f"/v1/workspaces/{ws}/providers?providerId=slow", {
        "displayName": "Slow relay", "channel": "CHANNEL_EMAIL",
        "rateLimit": {"messagesPerSecond": per_second, "burst": 1},
        "smtp": {"host": "127.0.0.1", "port": running.platform.smtp_sink_port, "security": "SECURITY_NONE",
                 "fromAddress": "news@example.com"}})
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "News", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment["name"]],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template["name"]}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}})
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{campaign['name']}:{action}", {})
    wait_until("the launch to hand every message over", lambda: (
        (body := rest.call("GET", f"/v1/{campaign['name']}/launch").body) and isinstance(body, dict)
        and body.get("state") == "STATE_COMPLETED" and body))
    return ws, campaign["name"]


def settled_launch(rest, name: str, ready) -> dict:
    """The launch once it followed the campaign's change and the notify service made it."""
    return wait_until("notify to take the lifecycle change", lambda: (
        (body := rest.call("GET", f"/v1/{name}/launch").body) and ready(body)
        and body.get("pendingMessagesAction", "MESSAGES_ACTION_UNSPECIFIED") == "MESSAGES_ACTION_UNSPECIFIED" and body),
        seen=lambda: rest.call("GET", f"/v1/{name}/launch").body)


@pytest.mark.embedded_only("cancelling stops notify's queue, which does not depend on the bus; the launch path "
                            "is on both buses in test_campaign_launch (CI time)")
def test_cancel_stops_every_message_not_yet_handed_over(running):
    rest, people = running.rest, 30
    ws, name = launched(running, "cnl", people, per_second=2)
    cancelled = rest.ok("POST", f"/v1/{name}:cancel", {})
    assert cancelled["state"] == "STATE_CANCELLED"
    launch = settled_launch(rest, name, lambda body: int(body.get("cancelledMessageCount", 0))
                            + int(body.get("handedOverMessageCount", 0)) > 0)
    handed_over, gone = launch.get("handedOverMessageCount", 0), launch.get("cancelledMessageCount", 0)
    assert handed_over + gone == people and gone > 0, launch
    time.sleep(3)  # anything that would still go out after the cancel has had time to
    assert received(running, ws) <= handed_over
    listed = rest.ok("GET", f"/v1/workspaces/{ws}/messages?pageSize=100&filter=state%20%3D%20STATE_CANCELLED")
    assert len(listed["messages"]) == gone
    again = rest.call("POST", f"/v1/{name}:cancel", {})  # the wrong state: 400 naming it
    assert again.status == 400 and "CANCELLED" in again.body["message"], again.body
    assert rest.call("POST", f"/v1/{name}:resume", {}).status == 400


@pytest.mark.embedded_only("pausing holds notify's queue, which does not depend on the bus; the launch path is on both buses in test_campaign_launch (CI time)")
def test_pause_holds_the_queued_messages_until_resume_sends_the_rest(running):
    rest, people = running.rest, 16
    ws, name = launched(running, "pse", people, per_second=2)
    assert rest.ok("POST", f"/v1/{name}:pause", {})["state"] == "STATE_PAUSED"
    settled_launch(rest, name, lambda body: body.get("messagesHeld"))
    time.sleep(2.5)  # a dispatcher pass that claimed messages before the hold has recorded them by now
    before = received(running, ws)
    time.sleep(3)
    assert received(running, ws) == before < people  # held: nothing more goes out
    wrong = rest.call("POST", f"/v1/{name}:pause", {})
    assert wrong.status == 400 and "PAUSED" in wrong.body["message"], wrong.body
    assert rest.ok("POST", f"/v1/{name}:resume", {})["state"] == "STATE_RUNNING"
    settled_launch(rest, name, lambda body: not body.get("messagesHeld"))
    wait_until("the rest to be sent", lambda: received(running, ws) >= people, timeout=60)
    time.sleep(1)
    assert received(running, ws) == people
