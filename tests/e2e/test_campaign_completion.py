"""A campaign launched to a few recipients completes by itself once the email
provider's webhook reports every message delivered (no `:complete`), and a
consumer of the campaign topic sees campaign_completed; its stats show the
messages reported and final. A campaign sending through a paid provider pauses
itself (BUDGET_EXHAUSTED) once its email allocation is spent, and resumes when
the budget is raised."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import event_schemas
from devstack.servers import smtp_sink
from svc_kit.bus.factory import make_bus
from svc_kit.bus.port import SubscriptionOptions
from tests.e2e.test_campaign_schedule import PEOPLE, audience_and_template, emails_of, eventually, iso

pytestmark = pytest.mark.e2e
TOPIC = "persistent://public/default/marketing.campaign.v1"


def test_a_launched_campaign_completes_by_itself_once_every_message_is_delivered(running):
    ws, rest = f"done-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)
    start = datetime.now(UTC) + timedelta(seconds=3)
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Completes", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": iso(start), "timeZone": "Europe/Paris"}})
    name = campaign["name"]
    rest.ok("POST", f"/v1/{name}:schedule", {})
    mails = eventually(lambda: len(found := emails_of(running, ws)) >= len(PEOPLE) and found,
                       "the emails in the SMTP sink", timeout=90)
    eventually(lambda: rest.ok("GET", f"/v1/{name}/launch")["state"] == "STATE_COMPLETED", "the launch", 60)
    time.sleep(2)  # the sends' events reach the campaign service; still RUNNING: nothing is delivered yet
    assert rest.ok("GET", f"/v1/{name}")["state"] == "STATE_RUNNING"

    names = sorted({m["X-Notify-Message"] for m in mails})
    path, body, signed = smtp_sink.delivery_callback(running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE], ws,
                                                     [{"message": n, "type": "delivered"} for n in names])
    callback = rest.call("POST", path, raw=body, headers=signed)
    assert callback.status == 200, callback.body
    eventually(lambda: rest.ok("GET", f"/v1/{name}")["state"] == "STATE_COMPLETED", "the completion", 60)
    stats = rest.ok("GET", f"/v1/{name}/stats")
    assert (int(stats["messagesKnown"]), int(stats["messagesFinal"])) == (len(PEOPLE), len(PEOPLE))

    campaign_id = name.rsplit("/", 1)[1]
    bus = make_bus(running.platform.env)
    try:
        consumer = bus.consumer(TOPIC, f"e2e-{uuid.uuid4().hex[:8]}", event_schemas.load("campaign.v1"),
                                SubscriptionOptions(initial_position="earliest"))
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while "campaign_completed" not in seen:
            assert time.monotonic() < deadline, f"saw {seen}"
            message = consumer.receive(0.5)
            if message is None:
                continue
            consumer.ack(message)
            if message.key == campaign_id:
                seen.append(message.value["event_type"])
    finally:
        bus.close()
    assert seen == ["campaign_created", "campaign_scheduled", "campaign_started", "campaign_completed"]


def test_a_spent_allocation_pauses_the_campaign_and_a_raised_budget_resumes_it(running):
    ws, rest = f"bud-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)
    rest.ok("POST", f"/v1/workspaces/{ws}/providers?providerId=paid-smtp", {
        "displayName": "Paid relay", "channel": "CHANNEL_EMAIL",
        "smtp": {"host": "127.0.0.1", "port": int(running.platform.env["MKT_SMTP_SINK_PORT"]),
                 "security": "SECURITY_NONE", "fromAddress": "news@example.com"},
        "unitCost": {"currencyCode": "EUR", "nanos": 10_000_000}})  # 0.01 EUR a message
    start = datetime.now(UTC) + timedelta(seconds=3)
    budget = {"total": {"currencyCode": "EUR", "units": "1"},
              "allocations": [{"channel": "CHANNEL_EMAIL", "amount": {"currencyCode": "EUR", "nanos": 20_000_000}}]}
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Budgeted", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}], "budget": budget,
        "schedule": {"startTime": iso(start), "timeZone": "Europe/Paris"}})
    name = campaign["name"]
    rest.ok("POST", f"/v1/{name}:schedule", {})

    def budget_pause():
        stats = rest.ok("GET", f"/v1/{name}/stats")
        return stats.get("pauseReason") == "BUDGET_EXHAUSTED" and stats

    paused = eventually(budget_pause, "the budget pause", timeout=90)
    assert paused["campaign"]["state"] == "STATE_PAUSED"
    [spend] = paused["spend"]
    assert spend["channel"] == "CHANNEL_EMAIL" and spend["spent"]["currencyCode"] == "EUR"
    assert int(spend["spent"].get("nanos", 0)) >= 20_000_000

    raised = {**budget, "allocations": [{"channel": "CHANNEL_EMAIL", "amount": {"currencyCode": "EUR",
                                                                                "nanos": 500_000_000}}]}
    rest.ok("PATCH", f"/v1/{name}?updateMask=budget", {"budget": raised})
    eventually(lambda: rest.ok("GET", f"/v1/{name}")["state"] == "STATE_RUNNING", "the resume", timeout=30)
    assert rest.ok("GET", f"/v1/{name}/stats").get("pauseReason", "") == ""
