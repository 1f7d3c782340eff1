"""The launch saga survives a kill -9 in the middle of a launch:

- of the campaign service: restarted, it resumes from the last saved step, and
  the SMTP sink ends up with each member's email exactly once (none lost, none
  twice);
- of the notify service while it hands the messages to SMTP: restarted, it
  sends what was left, and the messages it had claimed but not recorded once
  their lease expires. Every member receives its email (none lost) and every
  member's emails carry one Message-ID, the same message; a message the sink
  accepted just before the kill, whose outcome was not recorded yet, is handed
  over again (at-least-once hand-off to SMTP, deduplicable by its Message-ID):
  the test prints how many such repeats the sink saw."""

from __future__ import annotations

import collections
import signal
import time
import uuid

import pytest

from devstack.servers import smtp_sink
from tests.e2e.test_campaign_schedule import audience_and_template, emails_of, eventually

pytestmark = pytest.mark.e2e
MEMBERS = 1100  # three pages of 500: the kill lands while pages are still to hand over
NOTIFY_MEMBERS = 1000
# Instead of 120 s and 500: how long a claim of the killed notify holds its messages, and how many one
# pass claims (100 at the relay's 100 a second fit well inside half a lease, as the dispatcher needs).
NOTIFY_LEASE_SECONDS, NOTIFY_BATCH = "8", "100"


def members_and_campaign(rest, ws: str, members: int) -> str:
    """`members` reachable profiles in one segment and a started campaign emailing them; its name."""
    segment, template = audience_and_template(rest, ws)  # ann, bob and cem
    for i in range(members - 3):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/m{i:04d}:upsert", {"profile": {
            "email": f"m{i:04d}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}})
    eventually(lambda: rest.call("POST", f"/v1/{segment}:countMembers", {}).body.get("count") == str(members),
               "every member in the segment", 60)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Crash", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "UTC"}})
    name = campaign["name"]
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{name}:{action}", {})
    return name


def kill(platform, service: str) -> None:
    child = next(c for c in platform.children if c.name == service)
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(timeout=10)
    platform.watch_once()  # the supervisor restarts it
    eventually(lambda: platform.service_status(service) == "SERVING", f"{service} back", 60)


def launch_done(rest, name: str, members: int) -> dict:
    done = eventually(lambda: (r := rest.call("GET", f"/v1/{name}/launch")).status == 200
                      and r.body["state"] != "STATE_RUNNING" and r.body, "the launch to finish", 180)
    assert done["state"] == "STATE_COMPLETED", done
    (target,) = done["targets"]
    assert target["total"] == str(members) and target["state"] == "STATE_DONE"
    assert int(target.get("sent", 0)) + int(target.get("duplicates", 0)) == members
    return done


def sink_records(running, ws: str) -> list[dict]:
    """The SMTP sink's records of the workspace's emails (cheap: no MIME parsing)."""
    suffix = f".{ws}@example.com>"
    return [m for m in smtp_sink.read_messages(running.platform.state_dir / smtp_sink.STORE_NAME)
            if m["message_id"].endswith(suffix)]


def test_a_campaign_killed_mid_launch_resumes_and_sends_each_member_once(running):
    ws, rest, platform = f"crash-{uuid.uuid4().hex[:8]}", running.rest, running.platform
    name = members_and_campaign(rest, ws, MEMBERS)

    # kill -9 the campaign service once the launch has saved a step and before it completed
    seen = eventually(lambda: (r := rest.call("GET", f"/v1/{name}/launch")).status == 200
                      and r.body.get("steps") and r.body, "the launch's first saved step", 30)
    kill(platform, "campaign")
    assert seen["state"] == "STATE_RUNNING", seen

    launch_done(rest, name, MEMBERS)
    mails = eventually(lambda: len(found := emails_of(running, ws)) >= MEMBERS and found, "every email", 180)
    time.sleep(2)  # a duplicate would arrive late: give it the time
    per_address = collections.Counter(str(m["To"]) for m in emails_of(running, ws))
    assert len(mails) >= MEMBERS and len(per_address) == MEMBERS
    assert set(per_address.values()) == {1}, [a for a, n in per_address.items() if n > 1][:5]


@pytest.fixture
def short_notify_lease(running):
    """Notify restarted (gracefully) with a short lease and small claims, so that the messages a killed notify had claimed
    come back within the test; the platform's own settings again afterwards."""
    platform = running.platform
    notify = next(c for c in platform.children if c.name == "notify")

    def restart(env: dict[str, str]) -> None:
        notify.process.send_signal(signal.SIGTERM)
        notify.process.wait(timeout=30)
        notify.env.clear()
        notify.env.update(env)
        notify.start(platform.env)  # not a crash: the supervisor's restart budget stays as it was
        eventually(lambda: platform.service_status("notify") == "SERVING", "notify back", 60)

    own = dict(notify.env)
    restart({**own, "MKT_NOTIFY_LEASE_SECONDS": NOTIFY_LEASE_SECONDS, "MKT_NOTIFY_DISPATCH_BATCH": NOTIFY_BATCH})
    try:
        yield
    finally:
        restart(own)


def test_notify_killed_mid_launch_loses_no_member_and_sends_each_the_same_message(running, short_notify_lease):
    ws, rest, platform = f"ncrash-{uuid.uuid4().hex[:8]}", running.rest, running.platform
    # Through a provider of the workspace limited to 100 emails a second, so that the kill reliably lands
    # while notify is handing the messages to SMTP (about ten seconds for all of them).
    rest.ok("POST", f"/v1/workspaces/{ws}/providers?providerId=relay", {
        "displayName": "Relay", "channel": "CHANNEL_EMAIL",
        "smtp": {"host": "127.0.0.1", "port": int(platform.env["MKT_SMTP_SINK_PORT"]),
                 "security": "SECURITY_NONE", "fromAddress": "news@example.com"},
        "rateLimit": {"messagesPerSecond": 100, "burst": 20}})
    name = members_and_campaign(rest, ws, NOTIFY_MEMBERS)

    # kill -9 the notify service once the sink has some of the emails and not all
    before = eventually(lambda: (n := len(sink_records(running, ws))) >= 50 and n, "the first emails", 120)
    kill(platform, "notify")
    at_kill = len(sink_records(running, ws))
    assert before < NOTIFY_MEMBERS and at_kill < NOTIFY_MEMBERS, (before, at_kill)

    launch_done(rest, name, NOTIFY_MEMBERS)
    # every message final in notify: none waiting, none claimed under the killed process's lease
    messages = f"/v1/workspaces/{ws}/messages?pageSize=5&filter=state%20!%3D%20STATE_SENT"
    eventually(lambda: (r := rest.call("GET", messages)).status == 200 and not r.body.get("messages"),
               "every message sent", 180)
    records = eventually(lambda: len(found := sink_records(running, ws)) >= NOTIFY_MEMBERS and found,
                         "every email", 60)
    time.sleep(2)  # a repeat would arrive late: give it the time
    records = sink_records(running, ws)

    ids_per_address: dict[str, set[str]] = collections.defaultdict(set)
    for record in records:
        (address,) = record["rcpt_tos"]
        ids_per_address[address].add(record["message_id"])
    copies = collections.Counter(r["message_id"] for r in records)
    repeats = sum(n - 1 for n in copies.values())
    print(f"\nnotify killed with {at_kill} of {NOTIFY_MEMBERS} emails in the sink; the sink received "
          f"{len(records)} emails for {len(copies)} messages: {repeats} repeated hand-overs of the same "
          f"Message-ID ({sum(1 for n in copies.values() if n > 1)} messages)")
    assert len(ids_per_address) == NOTIFY_MEMBERS  # none lost
    assert {a for a, ids in ids_per_address.items() if len(ids) != 1} == set()  # each one message, however often
    assert len(copies) == NOTIFY_MEMBERS
