"""A campaign scheduled through REST starts by itself at its start time (no
`:start`), and its launch hands the messages to the notify service, which
sends them to the SMTP sink. Bad schedules answer 400 with the field named."""

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
PEOPLE = ("ann", "bob", "cem")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def eventually(probe, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def emails_of(running, ws: str) -> list[email.message.EmailMessage]:
    found = [email.message_from_string(m["data"], policy=email.policy.default)
             for m in smtp_sink.read_messages(running.platform.state_dir / smtp_sink.STORE_NAME)]
    return [m for m in found if (m["X-Notify-Message"] or "").startswith(f"workspaces/{ws}/")]


def audience_and_template(rest, ws: str) -> tuple[str, str]:
    for person in PEOPLE:
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/{person}:upsert", {"profile": {
            "email": f"{person}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}})
    segment = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=buyers", {
        "displayName": "Buyers", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 100})})
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=hello", {
        "displayName": "Hello", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Scheduled hello", "html": "<p>Hello</p>", "text": "Hello"}}})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    return segment["name"], template["name"]


def test_a_campaign_scheduled_ten_seconds_ahead_starts_by_itself_and_its_emails_arrive(running):
    ws, rest = f"sch-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)
    start = datetime.now(UTC) + timedelta(seconds=10)
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Scheduled", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": iso(start), "endTime": iso(start + timedelta(hours=1)),
                     "timeZone": "Europe/Paris"}})
    name = campaign["name"]
    assert rest.ok("POST", f"/v1/{name}:schedule", {})["state"] == "STATE_SCHEDULED"
    assert rest.call("GET", f"/v1/{name}/launch").status == 404  # nothing before the start time

    running_now = eventually(lambda: (body := rest.ok("GET", f"/v1/{name}"))["state"] == "STATE_RUNNING"
                             and body, "the scheduled start", timeout=40)
    assert datetime.fromisoformat(running_now["stateTime"].replace("Z", "+00:00")) >= start
    history = rest.ok("GET", f"/v1/{name}/events")
    assert [e["type"] for e in history["events"]] == ["campaign_created", "campaign_scheduled", "campaign_started"]

    def launch_done():
        response = rest.call("GET", f"/v1/{name}/launch")
        return response.status == 200 and response.body["state"] == "STATE_COMPLETED" and response.body

    launch = eventually(launch_done, "the launch", timeout=60)
    assert [int(t.get("sent", 0)) for t in launch["targets"]] == [len(PEOPLE)]
    mails = eventually(lambda: len(found := emails_of(running, ws)) >= len(PEOPLE) and found,
                       "the emails in the SMTP sink", timeout=60)
    assert sorted(str(m["To"]) for m in mails) == [f"{p}@example.com" for p in PEOPLE]
    assert {str(m["Subject"]) for m in mails} == {"Scheduled hello"}


def test_bad_schedules_answer_400_naming_the_field(running):
    ws, rest = f"sch-{uuid.uuid4().hex[:8]}", running.rest
    start = datetime.now(UTC) + timedelta(days=1)
    base = {"displayName": "Bad", "channels": ["CHANNEL_EMAIL"], "targetSegments": [f"workspaces/{ws}/segments/s"],
            "contents": [{"channel": "CHANNEL_EMAIL", "template": f"workspaces/{ws}/templates/t"}]}

    def violations(response):
        assert response.status == 400, response.body
        return [v["field"] for d in response.body["details"] for v in d.get("fieldViolations", [])]

    ends_first = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {**base, "schedule": {
        "startTime": iso(start), "endTime": iso(start - timedelta(hours=1)), "timeZone": "Europe/Paris"}})
    assert violations(ends_first) == ["campaign.schedule.end_time"]
    unknown_zone = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {**base, "schedule": {
        "startTime": iso(start), "timeZone": "Mars/Olympus_Mons"}})
    assert violations(unknown_zone) == ["campaign.schedule.time_zone"]
    # A draft may keep a past start; scheduling it is refused, naming the start time.
    past = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {**base, "schedule": {
        "startTime": iso(datetime.now(UTC) - timedelta(minutes=1)), "timeZone": "Europe/Paris"}})
    refused = rest.call("POST", f"/v1/{past['name']}:schedule", {})
    assert refused.status == 400 and refused.body["code"] == 9, refused.body  # FAILED_PRECONDITION
    subjects = [v["subject"] for d in refused.body["details"] for v in d.get("violations", [])]
    assert "campaign.schedule.start_time" in subjects
