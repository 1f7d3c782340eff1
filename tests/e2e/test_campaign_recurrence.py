"""A recurring campaign through REST: scheduled with an RRULE a few seconds ahead, its first run starts
by itself at the first occurrence with its own launch (run 1, the occurrence's time), listed by
ListCampaignLaunches, and its emails arrive; the rule cannot change while it runs. Rules that fire more
often than every 5 minutes, never fire, or carry DTSTART answer 400 naming campaign.schedule.recurrence.
(The second run, 5 minutes later, is the contract suite's: tests/contract/test_campaign_recurrence.py
drives the scheduler with a clock of its own.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_campaign_schedule import PEOPLE, audience_and_template, emails_of, eventually, iso

pytestmark = pytest.mark.e2e
RULE = "FREQ=MINUTELY;INTERVAL=5;COUNT=2"


@pytest.mark.embedded_only("recurrence is the scheduler's own (campaign database); the launch and its sends over "
                            "the bus are on both buses in test_campaign_schedule (CI time)")
def test_a_recurring_campaign_runs_its_first_occurrence_by_itself_with_its_own_launch(running):
    ws, rest = f"rec-{uuid.uuid4().hex[:8]}", running.rest
    segment, template = audience_and_template(rest, ws)
    start = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Every five minutes, twice", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": iso(start), "timeZone": "Europe/Paris", "recurrence": RULE}})
    name = campaign["name"]
    assert campaign["schedule"]["recurrence"] == RULE
    assert rest.ok("POST", f"/v1/{name}:schedule", {})["state"] == "STATE_SCHEDULED"
    assert rest.ok("GET", f"/v1/{name}/launches").get("launches", []) == []  # no run yet: an empty page

    eventually(lambda: rest.ok("GET", f"/v1/{name}")["state"] == "STATE_RUNNING", "the first run", timeout=40)

    def launch_done():
        response = rest.call("GET", f"/v1/{name}/launch")
        return response.status == 200 and response.body["state"] == "STATE_COMPLETED" and response.body

    launch = eventually(launch_done, "the first run's launch", timeout=60)
    assert (launch["run"], launch["occurrenceTime"]) == (1, iso(start))
    assert [int(t.get("sent", 0)) for t in launch["targets"]] == [len(PEOPLE)]
    listed = rest.ok("GET", f"/v1/{name}/launches?pageSize=10")
    assert [(x["name"], x["run"]) for x in listed["launches"]] == [(f"{name}/launches/1", 1)]
    history = rest.ok("GET", f"/v1/{name}/events")
    assert [e["type"] for e in history["events"]] == ["campaign_created", "campaign_scheduled", "campaign_started"]
    mails = eventually(lambda: len(found := emails_of(running, ws)) >= len(PEOPLE) and found,
                       "the first run's emails", timeout=60)
    assert sorted(str(m["To"]) for m in mails) == [f"{p}@example.com" for p in PEOPLE]

    refused = rest.call("PATCH", f"/v1/{name}?updateMask=schedule.recurrence",
                        {"schedule": {"recurrence": "FREQ=DAILY"}, "etag": ""})
    assert refused.status == 400 and refused.body["code"] == 9, refused.body  # FAILED_PRECONDITION
    assert "STATE_RUNNING" in refused.body["message"] or "RUNNING" in refused.body["message"]
    # the campaign waits for its second occurrence in RUNNING; cancelling stops the runs
    assert rest.ok("POST", f"/v1/{name}:cancel", {})["state"] == "STATE_CANCELLED"


@pytest.mark.parametrize(("rule", "says"), [
    ("FREQ=MINUTELY;INTERVAL=4", "more often than every 5 min"),
    ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0,1", "more often than every 5 min"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never fires"),
    ("DTSTART=20270101T090000Z;FREQ=DAILY", "DTSTART is not allowed"),
    ("FREQ=DAILY;BYHOUR=24", "not a valid RRULE"),
])
def test_bad_rules_answer_400_naming_the_recurrence(running, rule, says):
    ws, rest = f"rec-{uuid.uuid4().hex[:8]}", running.rest
    start = datetime.now(UTC) + timedelta(days=1)
    response = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Bad rule", "schedule": {"startTime": iso(start), "timeZone": "Europe/Paris",
                                                "recurrence": rule}})
    assert response.status == 400 and response.body["code"] == 3, response.body  # INVALID_ARGUMENT
    violations = [v for d in response.body["details"] for v in d.get("fieldViolations", [])]
    assert [v["field"] for v in violations] == ["campaign.schedule.recurrence"]
    assert says in violations[0]["description"]
