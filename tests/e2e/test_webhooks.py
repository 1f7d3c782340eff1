"""Outbound webhooks through the real edge, with a local receiver (devstack/platforms/
webhook_receiver.py) as the outside endpoint: a real platform event (a campaign scheduled)
arrives signed as Standard Webhooks says (verified with the `standardwebhooks` library), a 500
is retried with the same webhook-id, the delivery log shows both attempts, and a replay resends
it; :test; secret rotation (both signatures verify during the overlap); bad input answers 400
naming the field; another workspace's webhook is not found."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier, WebhookVerificationError

from devstack.platforms.webhook_receiver import WebhookReceiver
from tests.e2e.test_campaign_schedule import audience_and_template, iso

pytestmark = pytest.mark.e2e


def eventually(probe, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def violations(response) -> set[str]:
    assert response.status == 400, response.body
    return {v["field"] for d in response.body["details"] for v in d.get("fieldViolations", [])}


@pytest.fixture
def receiver():
    with WebhookReceiver() as running_receiver:
        yield running_receiver


def test_a_scheduled_campaign_is_delivered_signed_retried_after_a_500_and_replayed(running, receiver):
    ws, rest = f"whk-{uuid.uuid4().hex[:8]}", running.rest
    receiver.respond("/hooks/crm", 500)  # the first attempt fails, the retry succeeds
    hook = rest.ok("POST", f"/v1/workspaces/{ws}/webhooks?webhookId=crm", {
        "displayName": "CRM", "uri": receiver.url("/hooks/crm"), "eventTypes": ["campaign.scheduled"],
        "headers": {"x-team": "growth"}})
    secret = hook["signingSecret"]
    assert secret.startswith("whsec_") and hook["state"] == "STATE_ACTIVE"
    assert rest.ok("GET", f"/v1/{hook['name']}").get("signingSecret", "") == ""
    assert secret not in str(rest.ok("GET", f"/v1/workspaces/{ws}/webhooks"))

    segment, template = audience_and_template(rest, ws)
    start = datetime.now(UTC) + timedelta(hours=1)
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Webhooked", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": iso(start), "endTime": iso(start + timedelta(hours=1)), "timeZone": "UTC"}})
    rest.ok("POST", f"/v1/{campaign['name']}:schedule", {})

    first, retry = receiver.wait_for("/hooks/crm", 2, timeout=60)
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    for request in (first, retry):
        event = Verifier(secret).verify(request.body, request.headers)
        assert event["type"] == "campaign.scheduled" and request.headers["x-team"] == "growth"
        assert event["data"]["campaign"] == campaign["name"] and event["data"]["to_state"]
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(first.body.replace(b"scheduled", b"launched"), first.headers)

    def log():
        found = rest.ok("GET", f"/v1/{hook['name']}/deliveries")["webhookDeliveries"]
        return found if found and found[0]["state"] == "STATE_SUCCEEDED" else None

    [delivery] = eventually(log, "the successful retry in the delivery log")
    assert delivery["eventType"] == "campaign.scheduled" and delivery["attemptCount"] == 2
    assert delivery["responseCode"] == 200 and delivery["lastAttemptTime"] and not delivery.get("error")
    assert delivery["name"].endswith("/" + first.headers["webhook-id"])
    assert rest.ok("GET", f"/v1/{delivery['name']}")["attemptCount"] == 2
    assert rest.ok("GET", f"/v1/{hook['name']}")["lastSuccessTime"]

    replayed = rest.ok("POST", f"/v1/{delivery['name']}:replay", {})
    assert replayed["state"] == "STATE_PENDING"
    third = receiver.wait_for("/hooks/crm", 3, timeout=60)[2]
    assert third.headers["webhook-id"] == first.headers["webhook-id"] and third.body == first.body
    Verifier(secret).verify(third.body, third.headers)
    eventually(lambda: rest.ok("GET", f"/v1/{delivery['name']}")["attemptCount"] == 3, "the replay's record")


def test_test_rotation_pause_and_bad_input(running, receiver):
    ws, rest = f"whk-{uuid.uuid4().hex[:8]}", running.rest
    hook = rest.ok("POST", f"/v1/workspaces/{ws}/webhooks", {
        "displayName": "Ops", "uri": receiver.url("/hooks/ops"), "eventTypes": ["message.*", "profile.erased"]})
    old = hook["signingSecret"]
    tested = rest.ok("POST", f"/v1/{hook['name']}:test", {})
    assert tested["state"] == "STATE_SUCCEEDED" and tested["responseCode"] == 200 and tested["attemptCount"] == 1
    [ping] = receiver.received("/hooks/ops")
    assert Verifier(old).verify(ping.body, ping.headers)["type"] == "webhook.ping"

    rotated = rest.ok("POST", f"/v1/{hook['name']}:rotateSecret", {})
    new = rotated["signingSecret"]
    assert new.startswith("whsec_") and new != old
    receiver.respond("/hooks/ops", 503)
    failed_test = rest.ok("POST", f"/v1/{hook['name']}:test", {})
    assert failed_test["state"] == "STATE_FAILED" and failed_test["responseCode"] == 503
    during = receiver.received("/hooks/ops")[1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # both verify during the overlap
        Verifier(secret).verify(during.body, during.headers)
    listed = rest.ok("GET", f"/v1/{hook['name']}/deliveries")["webhookDeliveries"]
    assert [d["name"] for d in listed] == [failed_test["name"], tested["name"]]  # newest first
    failed_only = rest.ok("GET", f"/v1/{hook['name']}/deliveries?filter=state%20%3D%20STATE_FAILED"
                                 "%20AND%20event_type%20%3D%20webhook.ping&pageSize=1")
    assert [d["name"] for d in failed_only["webhookDeliveries"]] == [failed_test["name"]]
    assert not failed_only.get("nextPageToken")
    assert violations(rest.call("GET", f"/v1/{hook['name']}/deliveries?filter=state%20%3D%20STATE_LOST")) \
        == {"filter"}
    subscribed = "/v1/workspaces/{}/webhooks?filter=event_types%20%3D%20profile.erased%20AND%20state%20!%3D%20{}"
    assert [h["name"] for h in rest.ok("GET", subscribed.format(ws, "STATE_PAUSED"))["webhooks"]] == [hook["name"]]
    assert rest.ok("GET", subscribed.format(ws, "STATE_ACTIVE")).get("webhooks", []) == []

    paused = rest.ok("POST", f"/v1/{hook['name']}:pause", {"etag": rotated["etag"]})
    assert paused["state"] == "STATE_PAUSED"
    assert rest.call("POST", f"/v1/{hook['name']}:resume", {"etag": rotated["etag"]}).status == 409  # stale etag
    assert rest.ok("POST", f"/v1/{hook['name']}:resume", {})["state"] == "STATE_ACTIVE"
    updated = rest.ok("PATCH", f"/v1/{hook['name']}?updateMask=eventTypes", {"eventTypes": ["*"]})
    assert updated["eventTypes"] == ["*"] and updated["uri"] == hook["uri"]

    base = {"displayName": "Bad", "eventTypes": ["campaign.scheduled"]}
    assert violations(rest.call("POST", f"/v1/workspaces/{ws}/webhooks",
                                {**base, "uri": "http://hooks.example.com/in"})) == {"webhook.uri"}
    assert violations(rest.call("POST", f"/v1/workspaces/{ws}/webhooks",
                                {**base, "uri": "https://hooks.example.com/in",
                                 "eventTypes": ["campaign.exploded"]})) == {"webhook.event_types[0]"}
    assert violations(rest.call("POST", f"/v1/workspaces/{ws}/webhooks",
                                {**base, "uri": "https://hooks.example.com/in",
                                 "signingSecret": "hunter2"})) == {"webhook.signing_secret"}
    other = f"whk-{uuid.uuid4().hex[:8]}"
    assert rest.call("GET", f"/v1/workspaces/{other}/webhooks/{hook['name'].rsplit('/', 1)[1]}").status == 404
    assert rest.call("GET", f"/v1/{hook['name']}/deliveries/nope").status == 404
    assert rest.call("DELETE", f"/v1/{hook['name']}").status == 200
    assert rest.call("GET", f"/v1/{hook['name']}").status == 404


@pytest.mark.embedded_only("the CLI's commands call the API; the deliveries they show run on both buses in "
                            "the scheduled-campaign test above (CI time)")
def test_mkt_webhooks_commands(running, receiver):
    import os
    import subprocess
    import sys

    ws = f"whk-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "MKT_EDGE_PORT": str(running.edge_port),
           "MKT_STATE_DIR": str(running.platform.state_dir.resolve())}
    env.pop("TOKEN", None)

    def mkt(*args):
        return subprocess.run([sys.executable, "-m", "mkt", "webhooks", *args], env=env, capture_output=True,
                              text=True, timeout=60)

    made = mkt("create", "--workspace", ws, "--url", receiver.url("/hooks/cli"), "--events", "campaign.*",
               "--id", "cli")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    listed = mkt("list", "--workspace", ws)
    assert listed.returncode == 0 and f"workspaces/{ws}/webhooks/cli" in listed.stdout and secret not in listed.stdout
    tested = mkt("test", "--workspace", ws, "cli")
    assert tested.returncode == 0 and "SUCCEEDED" in tested.stdout, tested.stderr
    [ping] = receiver.received("/hooks/cli")
    assert Verifier(secret).verify(ping.body, ping.headers)["type"] == "webhook.ping"
    receiver.respond("/hooks/cli", 500)
    assert mkt("test", f"workspaces/{ws}/webhooks/cli").returncode == 1
    log = mkt("deliveries", f"workspaces/{ws}/webhooks/cli")
    assert log.returncode == 0 and log.stdout.count("webhook.ping") == 2 and "code=500" in log.stdout
    delivery = log.stdout.split()[0]
    assert mkt("replay", delivery).returncode == 0
    receiver.wait_for("/hooks/cli", 3)
    refused = mkt("create", "--workspace", ws, "--url", "ftp://example.com", "--events", "*")
    assert refused.returncode == 1 and "INVALID_ARGUMENT" in refused.stderr
    assert mkt("replay", "nope").returncode == 2
