"""A/B tests through REST on the running platform: a campaign with a two-variant template sends its test
share (20%, split between the variants), a recipient of variant `b` clicks, and once the wait is over the
rest of the audience gets `b`; the decision, its figures and its time are on the campaign. A kill -9 of the
campaign service while the test waits resumes the wait and sends the rest once. A test share outside
(0, 100) answers 400 naming the field; :schedule of an A/B test whose template has no variants answers
400 FAILED_PRECONDITION."""

from __future__ import annotations

import collections
import contextlib
import io
import re
import signal
import time
import uuid
from datetime import datetime
from html import unescape

import pytest

from devstack.tools import demo
from tests.e2e.test_campaign_schedule import (
    audience_and_template,
    emails_of,
    eventually,
)

pytestmark = pytest.mark.e2e
MEMBERS = 100  # a 20% test share: about ten per variant
SUBJECTS = {"control": "Control offer", "b": "Variant B offer"}


def audience_and_two_variant_template(rest, ws: str) -> tuple[str, str]:
    for i in range(MEMBERS):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/m{i:03d}:upsert", {"profile": {
            "email": f"m{i:03d}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}})
    segment = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=buyers", {
        "displayName": "Buyers", "definition": '{"attribute": "ltv", "op": "gte", "value": 100}'})
    eventually(lambda: rest.call("POST", f"/v1/{segment['name']}:countMembers", {}).body.get("count")
               == str(MEMBERS), "every member in the segment", 60)
    variants = [{"id": variant, "weight": 50, "content": {"email": {
        "subject": subject, "html": f'<p>{subject}: <a href="https://shop.example.com/{variant}">shop</a></p>'}}}
        for variant, subject in SUBJECTS.items()]
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=offer", {
        "displayName": "Offer", "channel": "CHANNEL_EMAIL", "content": variants[0]["content"],
        "variants": variants})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    return segment["name"], template["name"]


def started_ab_campaign(rest, ws: str, segment: str, template: str, wait: str) -> str:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "A/B", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "UTC"},
        "abTest": {"testSharePercent": 20, "wait": wait, "goalMetric": "GOAL_METRIC_CLICKS"}})
    assert campaign["abTest"] == {"testSharePercent": 20, "wait": wait, "goalMetric": "GOAL_METRIC_CLICKS",
                                  "decideWhenSignificant": False}
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{campaign['name']}:{action}", {})
    return campaign["name"]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def launch_of(rest, name: str) -> dict:
    response = rest.call("GET", f"/v1/{name}/launch")
    return response.body if response.status == 200 else {}


def waiting_launch(rest, name: str) -> dict:
    """The launch once its test share is handed over and it waits for the decision."""
    return eventually(lambda: (body := launch_of(rest, name)).get("abTestPhase") == "AB_TEST_PHASE_WAITING"
                      and body, "the test share handed over", 60)


def variant_of(message) -> str:
    return next(v for v, subject in SUBJECTS.items() if message["Subject"] == subject)


def every_email_once(running, ws: str) -> dict[str, str]:
    """address -> variant, once every member's email arrived (each exactly once)."""
    eventually(lambda: len(emails_of(running, ws)) >= MEMBERS, "every member's email", 120)
    time.sleep(2)  # a duplicate would arrive late: give it the time
    mails = emails_of(running, ws)
    per_address = collections.Counter(str(m["To"]) for m in mails)
    assert len(per_address) == MEMBERS and set(per_address.values()) == {1}, per_address.most_common(3)
    return {str(m["To"]): variant_of(m) for m in mails}


@pytest.mark.embedded_only("the A/B decision reads analytics' report; the bus only carries the sends, whose "
                            "launch path and crash recovery run on both buses in test_campaign_launch and "
                            "test_campaign_launch_crash (CI time)")
def test_an_ab_test_sends_the_winner_to_the_remainder(running):
    ws, rest = f"ab-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_two_variant_template(rest, ws)
    name = started_ab_campaign(rest, ws, segment, template, "30s")

    waiting = waiting_launch(rest, name)
    (target,) = waiting["targets"]
    test_count = int(target.get("sent", 0))
    assert 0 < test_count < MEMBERS
    tested = eventually(lambda: len(found := emails_of(running, ws)) >= test_count and found,
                        "the test share's emails", 60)
    # Pause while the test waits, so the decision cannot come before the click is counted; resuming
    # carries on with the wait (the decide time is kept).
    rest.ok("POST", f"/v1/{name}:pause", {})
    paused = eventually(lambda: (body := launch_of(rest, name))["state"] == "STATE_PAUSED" and body, "paused", 30)
    assert paused["abTestPhase"] == "AB_TEST_PHASE_WAITING", paused  # no decision yet
    assert paused["abTestDecideTime"] == waiting["abTestDecideTime"]
    test_share = {str(m["To"]): variant_of(m) for m in tested}
    assert len(test_share) == test_count and set(test_share.values()) == {"control", "b"}

    clicked = next(m for m in tested if variant_of(m) == "b")
    html = clicked.get_body(("html",)).get_content()
    link = next(unescape(href) for href in re.findall(r'<a [^>]*href="([^"]+)"', html) if ":click?" in href)
    with contextlib.redirect_stdout(io.StringIO()):
        demo.follow_click(link)
    eventually(lambda: any(v.get("variant") == "b" and int(v["metrics"].get("clicked", 0)) == 1 for v in (
        rest.call("GET", f"/v1/{name}/report").body or {}).get("variants", [])), "the click counted", 60)
    rest.ok("POST", f"/v1/{name}:resume", {})

    done = eventually(lambda: (body := launch_of(rest, name))["state"] == "STATE_COMPLETED" and body,
                      "the launch to send the rest", 120)
    assert done["abTestPhase"] == "AB_TEST_PHASE_REMAINDER"
    (target,) = done["targets"]
    assert int(target["sent"]) == MEMBERS and target["state"] == "STATE_DONE"
    sent = every_email_once(running, ws)
    assert {a: v for a, v in sent.items() if a in test_share} == test_share
    assert {v for a, v in sent.items() if a not in test_share} == {"b"}  # the remainder all got the winner

    decision = rest.ok("GET", f"/v1/{name}")["abTestDecision"]
    (listed,) = rest.ok("GET", f"/v1/workspaces/{ws}/campaigns")["campaigns"]
    assert listed["abTestDecision"] == decision
    assert decision["winner"] == "b" and decision["reason"] == "REASON_WAIT_ELAPSED"
    assert decision["control"] == "control"
    assert instant(decision["decideTime"]) >= instant(waiting["abTestDecideTime"])
    figures = {f["variant"]: f for f in decision["variants"]}
    assert int(figures["b"]["goalCount"]) == 1 and int(figures["control"].get("goalCount", 0)) == 0
    assert int(figures["b"]["sent"]) + int(figures["control"]["sent"]) == test_count
    assert figures["b"]["rate"] > 0
    steps = [s["step"] for s in done["steps"]]
    assert steps.index("STEP_DECIDE_AB_TEST") < len(steps) - 1


@pytest.mark.embedded_only("resuming the wait is the launch saga's (campaign database); a kill mid-launch "
                            "resumes on both buses in test_campaign_launch_crash (CI time)")
def test_a_kill_during_the_wait_resumes_and_sends_the_remainder_once(running):
    ws, rest, platform = f"abk-{uuid.uuid4().hex[:8]}", running.rest, running.platform
    segment, template = audience_and_two_variant_template(rest, ws)
    name = started_ab_campaign(rest, ws, segment, template, "15s")
    waiting = waiting_launch(rest, name)

    service = next(c for c in platform.children if c.name == "campaign")
    service.process.send_signal(signal.SIGKILL)
    service.process.wait(timeout=10)
    platform.watch_once()  # the supervisor restarts it
    eventually(lambda: platform.service_status("campaign") == "SERVING", "campaign back", 60)

    done = eventually(lambda: (body := launch_of(rest, name)).get("state") == "STATE_COMPLETED" and body,
                      "the launch to send the rest", 120)
    assert done["abTestDecideTime"] == waiting["abTestDecideTime"]  # the wait was not started again
    sent = every_email_once(running, ws)
    decision = rest.ok("GET", f"/v1/{name}")["abTestDecision"]
    assert instant(decision["decideTime"]) >= instant(waiting["abTestDecideTime"])
    # nobody clicked: the control wins for want of data, and everyone outside the test share gets it
    assert (decision["winner"], decision["reason"]) == ("control", "REASON_NO_DATA")
    test_count = int(waiting["targets"][0]["sent"])
    assert collections.Counter(sent.values())["control"] >= MEMBERS - test_count
    assert collections.Counter(sent.values())["b"] >= 1


def test_a_test_share_outside_0_to_100_is_400_naming_the_field(running):
    ws, rest = f"abv-{uuid.uuid4().hex[:8]}", running.rest
    for share in (0, 100, 150):
        response = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
            "displayName": "Bad", "abTest": {"testSharePercent": share, "wait": "60s"}})
        assert response.status == 400, response.body
        violations = next(d for d in response.body["details"] if d["@type"].endswith("BadRequest"))
        assert [v["field"] for v in violations["fieldViolations"]] == ["campaign.ab_test.test_share_percent"]
    response = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Bad", "abTest": {"testSharePercent": 20, "wait": "-5s"}})
    assert response.status == 400 and "campaign.ab_test.wait" in str(response.body)


def test_scheduling_an_ab_test_of_a_template_without_variants_is_a_failed_precondition(running):
    ws, rest = f"abn-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)  # one content, no variants
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "A/B", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "UTC"}, "abTest": {"testSharePercent": 20, "wait": "60s"}})
    response = rest.call("POST", f"/v1/{campaign['name']}:schedule", {})
    assert response.status == 400 and response.body["code"] == 9, response.body  # FAILED_PRECONDITION
    assert "at least two variants" in response.body["message"] and "has 0" in response.body["message"]
    assert rest.ok("GET", f"/v1/{campaign['name']}")["state"] == "STATE_DRAFT"
    # without the A/B test it schedules
    rest.ok("PATCH", f"/v1/{campaign['name']}?updateMask=ab_test", {})
    assert rest.ok("POST", f"/v1/{campaign['name']}:schedule", {})["state"] == "STATE_SCHEDULED"
