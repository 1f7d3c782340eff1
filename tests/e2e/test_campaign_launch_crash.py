"""The launch saga survives a kill -9 of the campaign service in the middle of
a launch: restarted, it resumes from the last saved step, and the SMTP sink
ends up with each member's email exactly once (none lost, none twice)."""

from __future__ import annotations

import collections
import signal
import time
import uuid

import pytest

from tests.e2e.test_campaign_schedule import audience_and_template, call, emails_of, eventually

pytestmark = pytest.mark.e2e
MEMBERS = 1100  # three pages of 500: the kill lands while pages are still to hand over


def test_a_campaign_killed_mid_launch_resumes_and_sends_each_member_once(running):
    ws, rest, platform = f"crash-{uuid.uuid4().hex[:8]}", running.rest, running.platform
    segment, template = audience_and_template(rest, ws)  # ann, bob and cem
    for i in range(MEMBERS - 3):
        call(rest, "POST", f"/v1/workspaces/{ws}/profiles/m{i:04d}:upsert", {"profile": {
            "email": f"m{i:04d}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}})
    eventually(lambda: rest.call("POST", f"/v1/{segment}:countMembers", {}).body.get("count") == str(MEMBERS),
               "every member in the segment", 60)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    campaign = call(rest, "POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Crash", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "UTC"}})
    name = campaign["name"]
    for action in ("schedule", "start"):
        call(rest, "POST", f"/v1/{name}:{action}", {})

    # kill -9 the campaign service once the launch has saved a step and before it completed
    seen = eventually(lambda: (r := rest.call("GET", f"/v1/{name}/launch")).status == 200
                      and r.body.get("steps") and r.body, "the launch's first saved step", 30)
    service = next(c for c in platform.children if c.name == "campaign")
    service.process.send_signal(signal.SIGKILL)
    service.process.wait(timeout=10)
    assert seen["state"] == "STATE_RUNNING", seen
    platform.watch_once()  # the supervisor restarts it
    eventually(lambda: platform.service_status("campaign") == "SERVING", "campaign back", 60)

    done = eventually(lambda: (r := rest.call("GET", f"/v1/{name}/launch")).status == 200
                      and r.body["state"] != "STATE_RUNNING" and r.body, "the launch to finish", 120)
    assert done["state"] == "STATE_COMPLETED", done
    (target,) = done["targets"]
    assert target["total"] == str(MEMBERS) and target["state"] == "STATE_DONE"
    assert int(target.get("sent", 0)) + int(target.get("duplicates", 0)) == MEMBERS
    mails = eventually(lambda: len(found := emails_of(running, ws)) >= MEMBERS and found, "every email", 180)
    time.sleep(2)  # a duplicate would arrive late: give it the time
    per_address = collections.Counter(str(m["To"]) for m in emails_of(running, ws))
    assert len(mails) >= MEMBERS and len(per_address) == MEMBERS
    assert set(per_address.values()) == {1}, [a for a, n in per_address.items() if n > 1][:5]
