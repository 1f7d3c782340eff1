"""When messages go out, through REST: a throttled campaign's and a paced
campaign's messages reach the notify service carrying the due times the
launch planned (notify holds the later ones), a campaign sent at 09:00 local
time gives profiles in different zones different due times (a profile
without a zone gets the campaign's), and bad combinations answer 400 naming
the field."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devstack.servers import smtp_sink

pytestmark = pytest.mark.e2e
HOUR = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def eventually(probe, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def audience(rest, ws: str, people: dict[str, str]) -> tuple[str, str]:
    """Profiles (id -> time zone, "" for none) in one segment, and a published email template."""
    for person, zone in people.items():
        profile = {"email": f"{person}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
                   "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}
        if zone:
            profile["timeZone"] = zone
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/{person}:upsert", {"profile": profile})
    segment = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=buyers", {
        "displayName": "Buyers", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 100})})
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=hello", {
        "displayName": "Hello", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Timed hello", "html": "<p>Hello</p>", "text": "Hello"}}})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    return segment["name"], template["name"]


def launched(rest, ws: str, people: dict[str, str], schedule: dict, budget: dict | None = None
             ) -> tuple[str, dict, dict[str, dict]]:
    """Creates, schedules and starts a campaign to `people`; returns its name, its completed launch and its
    messages in the notify service by recipient profile id."""
    segment, template = audience(rest, ws, people)
    body = {"displayName": "Timed", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
            "contents": [{"channel": "CHANNEL_EMAIL", "template": template}], "schedule": schedule}
    if budget:
        body["budget"] = budget
    name = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", body)["name"]
    for action in ("schedule", "start"):
        rest.ok("POST", f"/v1/{name}:{action}", {})

    def completed():
        response = rest.call("GET", f"/v1/{name}/launch")
        return response.status == 200 and response.body["state"] == "STATE_COMPLETED" and response.body

    launch = eventually(completed, "the launch")
    assert int(launch["targets"][0].get("sent", 0)) == len(people), launch

    def all_messages():
        found = rest.ok("GET", f"/v1/workspaces/{ws}/messages?pageSize=100").get("messages", [])
        return len(found) == len(people) and found

    messages = eventually(all_messages, "the messages in the notify service")
    assert {m["campaign"] for m in messages} == {name}
    return name, launch, {m["recipient"].rsplit("/", 1)[1]: m for m in messages}


def emails_to(running, ws: str) -> set[str]:
    """Addresses the SMTP sink received from workspace `ws` (notify's Message-ID names it)."""
    return {to for m in smtp_sink.read_messages(running.platform.state_dir / smtp_sink.STORE_NAME)
            if f".{ws}@" in (m["message_id"] or "") for to in m["rcpt_tos"]}


def sent_now_and_later(running, ws: str, messages: dict[str, dict], start: datetime) -> None:
    """Notify sends the messages due at the start and holds the later ones until their time."""
    now_due = {p for p, m in messages.items() if parse(m["sendTime"]) <= start}
    later = set(messages) - now_due
    eventually(lambda: emails_to(running, ws) >= {f"{p}@example.com" for p in now_due}, "the messages due now")
    for person in later:
        message = running.rest.ok("GET", f"/v1/{messages[person]['name']}")
        assert message["state"] == "STATE_DEFERRED" and "requested send time" in message["stateReason"], message
    assert not emails_to(running, ws) & {f"{p}@example.com" for p in later}


def test_a_throttled_campaigns_messages_carry_their_planned_due_times(running):
    ws, rest = f"thr-{uuid.uuid4().hex[:8]}", running.rest
    people = {p: "" for p in ("ann", "bob", "cem", "dan", "eva")}
    start = datetime.now(UTC) + timedelta(days=1)
    name, launch, messages = launched(rest, ws, people, {
        "startTime": iso(start), "endTime": iso(start + timedelta(days=2)), "timeZone": "Europe/Paris",
        "maxSendsPerHour": 2})
    began = parse(launch["progress"]["startTime"])
    # two an hour: the plan's messages 0-1 at the start, 2-3 an hour later, 4 two hours later
    due = sorted(parse(m["sendTime"]) for m in messages.values())
    assert due == [began, began, began + HOUR, began + HOUR, began + 2 * HOUR]
    assert parse(launch["targets"][0]["lastSendTime"]) == began + 2 * HOUR
    assert rest.ok("GET", f"/v1/{name}")["schedule"]["maxSendsPerHour"] == 2
    sent_now_and_later(running, ws, messages, began)


def test_an_evenly_paced_campaigns_messages_spread_over_its_window(running):
    ws, rest = f"pace-{uuid.uuid4().hex[:8]}", running.rest
    people = {p: "" for p in ("ann", "bob", "cem", "dan")}
    start = datetime.now(UTC) + timedelta(days=1)
    end = start + timedelta(days=1)
    name, launch, messages = launched(rest, ws, people, {
        "startTime": iso(start), "endTime": iso(end), "timeZone": "Europe/Paris"}, {
        "total": {"currencyCode": "EUR", "units": "100"}, "pacing": "PACING_EVEN"})
    began = parse(launch["progress"]["startTime"])  # :start began it now: the window runs from here to end
    step = (end - began) / 4
    due = sorted(parse(m["sendTime"]) for m in messages.values())
    assert len(due) == 4 and due[0] == began
    for i, when in enumerate(due):
        assert abs(when - (began + i * step)) < timedelta(milliseconds=1), (i, when, began + i * step)
    assert rest.ok("GET", f"/v1/{name}")["budget"]["pacing"] == "PACING_EVEN"
    sent_now_and_later(running, ws, messages, began)


def next_nine(after: datetime, zone: str) -> datetime:
    """09:00 wall-clock time in `zone`, the first at or after `after` (written apart from send_times.py)."""
    local = after.astimezone(ZoneInfo(zone))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine < local:
        nine = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return nine.astimezone(UTC)


def test_a_campaign_at_nine_local_time_gives_each_zone_its_own_due_time(running):
    ws, rest = f"loc-{uuid.uuid4().hex[:8]}", running.rest
    people = {"ann": "Asia/Tokyo", "bob": "America/New_York", "cem": ""}  # cem: the campaign's zone
    start = datetime.now(UTC) + timedelta(days=1)
    name, launch, messages = launched(rest, ws, people, {
        "startTime": iso(start), "endTime": iso(start + timedelta(hours=30)), "timeZone": "Europe/Paris",
        "sendLocalTime": {"hours": 9}})
    began = parse(launch["progress"]["startTime"])
    due = {p: parse(m["sendTime"]) for p, m in messages.items()}
    assert due == {"ann": next_nine(began, "Asia/Tokyo"), "bob": next_nine(began, "America/New_York"),
                   "cem": next_nine(began, "Europe/Paris")}
    assert due["ann"] != due["bob"]
    for person, zone in (("ann", "Asia/Tokyo"), ("bob", "America/New_York"), ("cem", "Europe/Paris")):
        assert due[person].astimezone(ZoneInfo(zone)).hour == 9
    assert parse(launch["targets"][0]["lastSendTime"]) == max(due.values())
    local_time = rest.ok("GET", f"/v1/{name}")["schedule"]["sendLocalTime"]
    assert (local_time["hours"], local_time.get("minutes", 0), local_time.get("seconds", 0)) == (9, 0, 0)


def test_bad_send_time_settings_answer_400_naming_the_field(running):
    ws, rest = f"stb-{uuid.uuid4().hex[:8]}", running.rest
    start = datetime.now(UTC) + timedelta(days=1)
    budget = {"total": {"currencyCode": "EUR", "units": "100"}}

    def fields_refused(schedule: dict, budget: dict | None = None) -> list[str]:
        body = {"displayName": "Bad", "schedule": {"startTime": iso(start), "timeZone": "UTC", **schedule}}
        if budget:
            body["budget"] = budget
        response = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", body)
        assert response.status == 400 and response.body["code"] == 3, response.body
        return [v["field"] for d in response.body["details"] for v in d.get("fieldViolations", [])]

    day = iso(start + timedelta(days=1))
    assert fields_refused({}, {**budget, "pacing": "PACING_FRONT_LOADED"}) == ["campaign.budget.pacing"]
    assert fields_refused({"endTime": iso(start + timedelta(days=2)), "sendLocalTime": {"hours": 9}},
                          {**budget, "pacing": "PACING_EVEN"}) == ["campaign.schedule.send_local_time"]
    assert fields_refused({"sendLocalTime": {"hours": 9}, "maxSendsPerHour": 10}) == [
        "campaign.schedule.send_local_time"]
    assert fields_refused({"endTime": day, "sendLocalTime": {"hours": 9}}) == ["campaign.schedule.end_time"]
    assert fields_refused({"maxSendsPerHour": -5}) == ["campaign.schedule.max_sends_per_hour"]
    assert fields_refused({"sendLocalTime": {"hours": 25}}) == ["campaign.schedule.send_local_time"]
    # a draft's pacing cannot lose the end time it needs
    draft = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Paced", "schedule": {"startTime": iso(start), "endTime": day, "timeZone": "UTC"},
        "budget": {**budget, "pacing": "PACING_EVEN"}})
    refused = rest.call("PATCH", f"/v1/{draft['name']}?updateMask=schedule.end_time",
                        {"schedule": {}, "etag": draft["etag"]})
    assert refused.status == 400, refused.body
    assert [v["field"] for d in refused.body["details"] for v in d.get("fieldViolations", [])] == [
        "campaign.budget.pacing"]
