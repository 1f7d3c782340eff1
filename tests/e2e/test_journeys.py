"""Journeys end to end (issue 17), on each bus: the abandoned cart (product_added_to_cart -> wait for a
purchase -> email -> wait -> SMS; exit on purchase) for 20 profiles, events ingested through analytics'
REST IngestEvents and consumed by the campaign service from the behaviour topic; the sends go through
notify. Each cart without a purchase gets exactly one email, nobody gets a message after a purchase, a
redelivery storm of trigger events makes one entry each, and the journey goes on across a kill -9 and
restart of the campaign service in the middle of a wait. Bad graphs answer 400 naming the step."""

from __future__ import annotations

import collections
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

import event_schemas
from svc_kit.bus.factory import make_bus
from tests.e2e.test_campaign_launch_crash import kill
from tests.e2e.test_campaign_schedule import eventually

pytestmark = pytest.mark.e2e
PROFILES = 20
BEHAVIOUR_TOPIC = "persistent://public/default/marketing.behaviour.v1"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cart_journey(email: str, sms: str, first_wait: str, second_wait: str) -> dict:
    return {"displayName": "Abandoned cart", "definition": {
        "trigger": {"event": {"event": "product_added_to_cart"}},
        "entryStep": "wait-purchase",
        "goalEvent": "purchase",
        "reentry": {"mode": "MODE_ONCE"},
        "steps": [
            {"id": "wait-purchase", "wait": {"duration": first_wait, "event": "purchase", "onEvent": "done",
                                             "onTimeout": "email"}},
            {"id": "email", "send": {"channel": "CHANNEL_EMAIL", "template": email}, "next": "wait-again"},
            {"id": "wait-again", "wait": {"duration": second_wait, "event": "purchase", "onEvent": "done",
                                          "onTimeout": "sms"}},
            {"id": "sms", "send": {"channel": "CHANNEL_SMS", "template": sms}, "next": "mark"},
            {"id": "mark", "updateAttribute": {"attribute": "cart_status", "value": "abandoned"}, "next": "done"},
            {"id": "done", "exit": {}}]}}


def templates(rest, ws: str) -> tuple[str, str]:
    email = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=cart-email", {
        "displayName": "Your cart", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Your cart misses you", "html": "<p>Come back</p>", "text": "Come back"}}})
    sms = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=cart-sms", {
        "displayName": "Your cart (SMS)", "channel": "CHANNEL_SMS", "content": {"sms": {"body": "Your cart waits"}}})
    for t in (email, sms):
        rest.ok("POST", f"/v1/{t['name']}:publish", {})
    return email["name"], sms["name"]


def ingest(rest, ws: str, events: list[dict]) -> None:
    rest.ok("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": events})


def event(ws: str, profile: str, kind: str, event_id: str) -> dict:
    return {"eventId": event_id, "type": kind, "profile": f"workspaces/{ws}/profiles/{profile}",
            "eventTime": iso(datetime.now(UTC))}


def messages(rest, ws: str) -> collections.Counter:
    """(profile, channel) -> messages notify holds for it."""
    found = rest.ok("GET", f"/v1/workspaces/{ws}/messages?pageSize=1000").get("messages", [])
    return collections.Counter((m["recipient"].rsplit("/", 1)[-1], m["channel"]) for m in found)


def explained(rest, ws: str, profile: str) -> list[dict]:
    return rest.ok("GET", f"/v1/workspaces/{ws}/profiles/{profile}:explainJourneys").get("entries", [])


def test_the_abandoned_cart_journey(running):
    ws, rest = f"jrn-{uuid.uuid4().hex[:8]}", running.rest
    people = [f"p{i:02d}" for i in range(PROFILES)]
    for p in people:  # the last one never agreed to SMS: notify skips that send, the explanation says why
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/{p}:upsert", {"profile": {
            "email": f"{p}@example.com", "phone": "+15555550100",
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
            + ([{"channel": "CHANNEL_SMS", "status": "STATUS_GRANTED"}] if p != people[-1] else [])}})
    email, sms = templates(rest, ws)

    # bad graphs: 400 naming the step
    bad = cart_journey(email, sms, "0s", "10s")
    bad["definition"]["steps"][1].pop("next")
    made = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=bad", bad)
    refused = rest.call("POST", f"/v1/{made['name']}:publish", {})
    assert refused.status == 400, refused.body
    violations = {v["field"]: v["description"] for d in refused.body["details"]
                  for v in d.get("fieldViolations", [])}
    assert "step 'wait-purchase'" in violations["journey.definition.steps[0].wait.duration"]
    assert "dead end" in violations["journey.definition.steps[1].next"]
    other = cart_journey(email.replace(ws, "someone-else"), sms, "5s", "5s")
    made = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=other", other)
    assert rest.call("POST", f"/v1/{made['name']}:publish", {}).status == 400
    missing = cart_journey(f"workspaces/{ws}/templates/nope", sms, "5s", "5s")
    made = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=missing", missing)
    refused = rest.call("POST", f"/v1/{made['name']}:publish", {})
    assert refused.status == 400, refused.body
    assert [v["field"] for d in refused.body["details"] for v in d.get("fieldViolations", [])] == [
        "journey.definition.steps[1].send.template"]

    journey = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=cart", cart_journey(email, sms, "6s", "15s"))
    assert journey["state"] == "STATE_DRAFT"
    journey = rest.ok("POST", f"/v1/{journey['name']}:publish", {})
    assert journey["state"] == "STATE_ACTIVE" and journey["publishedVersion"] == 1
    name = journey["name"]

    # carts: ingested through analytics, 8 identical calls at once for the first 15 ...
    carts = [event(ws, p, "product_added_to_cart", f"cart-{p}") for p in people[:15]]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: ingest(rest, ws, carts), range(8)))
    # ... and for the last 5 a redelivery storm on the bus itself: each envelope 10 times
    bus = make_bus({**running.platform.env})
    producer = bus.producer(BEHAVIOUR_TOPIC, event_schemas.load("behaviour.v1"))
    try:
        now = datetime.now(UTC)
        for _ in range(10):
            for p in people[15:]:
                producer.send(f"workspaces/{ws}/profiles/{p}", {
                    "event_id": f"{ws}-storm-{p}", "event_type": "event_tracked", "workspace": ws,
                    "aggregate_id": p, "aggregate_version": 1, "occurred_at": now, "producer": "e2e",
                    "traceparent": None, "tracestate": None,
                    "payload": ("marketing.behaviour.v1.EventTracked", {
                        "profile": f"workspaces/{ws}/profiles/{p}", "name": "product_added_to_cart",
                        "properties": {"sku": "42"}})})
    finally:
        producer.close()
        bus.close()
    eventually(lambda: all(explained(rest, ws, p) for p in people), "every profile inside", 60)

    # the first five buy before the first wait ends: nothing is sent to them
    ingest(rest, ws, [event(ws, p, "purchase", f"buy-{p}") for p in people[:5]])
    eventually(lambda: all(e["state"] == "GOAL" for p in people[:5] for e in explained(rest, ws, p)),
               "the first buyers to reach the goal", 30)
    eventually(lambda: sum(1 for (p, c), n in messages(rest, ws).items() if c == "CHANNEL_EMAIL") == 15,
               "an email to each of the 15 carts without a purchase", 60)

    # five more buy during the second wait; then the campaign service dies in the middle of the wait
    ingest(rest, ws, [event(ws, p, "purchase", f"buy-{p}") for p in people[5:10]])
    eventually(lambda: all(e["state"] == "GOAL" for p in people[5:10] for e in explained(rest, ws, p)),
               "the second buyers to reach the goal", 30)
    kill(running.platform, "campaign")

    eventually(lambda: sum(1 for (p, c), n in messages(rest, ws).items() if c == "CHANNEL_SMS") == 10,
               "an SMS to each of the 10 carts still without a purchase, after the restart", 90)
    sent = messages(rest, ws)
    for p in people[:5]:
        assert sent[(p, "CHANNEL_EMAIL")] == 0 and sent[(p, "CHANNEL_SMS")] == 0, p
    for p in people[5:10]:
        assert sent[(p, "CHANNEL_EMAIL")] == 1 and sent[(p, "CHANNEL_SMS")] == 0, p
    for p in people[10:]:
        assert sent[(p, "CHANNEL_EMAIL")] == 1 and sent[(p, "CHANNEL_SMS")] == 1, p

    # one entry each, despite 8 ingest calls or 10 deliveries per trigger event
    for p in people:
        entries = explained(rest, ws, p)
        assert len(entries) == 1 and not entries[0].get("refused"), (p, entries)
    path = [(t["kind"], t.get("step", "")) for t in explained(rest, ws, "p18")[0]["path"]]
    assert path[0] == ("entered", "wait-purchase") and ("send_requested", "sms") in path and path[-1][0] == "exited"
    skipped = eventually(lambda: [t for t in explained(rest, ws, "p19")[0]["path"] if t["kind"] == "send_skipped"],
                         "notify's word that p19's SMS was skipped", 30)
    assert skipped[0]["step"] == "sms" and "CONSENT" in skipped[0]["detail"].upper(), skipped

    def marked(p: str) -> bool:
        attributes = rest.ok("GET", f"/v1/workspaces/{ws}/profiles/{p}").get("attributes", [])
        return {"key": "cart_status", "stringValue": "abandoned"} in attributes

    eventually(lambda: all(marked(p) for p in people[10:]), "the update_attribute step through audience", 30)
    assert not any(marked(p) for p in people[:10])

    stats = eventually(lambda: (s := rest.ok("GET", f"/v1/{name}/stats")) and s.get("exited") == "10" and s,
                       "the figures", 30)
    assert (stats["entered"], stats["goalReached"]) == ("20", "10")
    steps = {s["step"]: s for s in stats["steps"]}
    assert steps["wait-purchase"]["leftByBranch"] == {"on_timeout": "15"}
    assert steps["email"]["sent"] == "15" and steps["sms"]["sent"] == "10" and steps["sms"]["skipped"] == "1"

    # pause stops entries; another workspace sees none of it
    rest.ok("POST", f"/v1/{name}:pause", {})
    assert rest.call("GET", f"/v1/workspaces/someone-else/journeys/cart").status == 404
    listed = rest.ok("GET", f"/v1/workspaces/{ws}/journeys?pageSize=2")
    assert len(listed["journeys"]) == 2 and listed["nextPageToken"]
    following = rest.ok("GET", f"/v1/workspaces/{ws}/journeys?pageSize=2&pageToken={listed['nextPageToken']}")
    assert [j["name"].rsplit("/", 1)[-1] for j in listed["journeys"] + following["journeys"]] == [
        "bad", "other", "missing", "cart"]


@pytest.mark.embedded_only("branches on attributes, static segment changes and webhook calls go through audience "
                           "and integrations over gRPC, not the bus (the bus paths run on both in the cart test; "
                           "CI time)")
def test_a_branch_on_a_profile_attribute_a_static_segment_step_and_webhook_steps(running):
    """signup -> branch on `tier` (as audience has it when the step runs) -> gold: join the static segment
    `vip` (audience announces it in segment_updated: a journey on entering `vip` starts), call the CRM webhook
    (a signed `journey.step` event through integrations' delivery pipeline, once) and a webhook deleted after
    the publish (skipped, the reason on the path) -> exit. Bad steps answer 400 naming them."""
    from standardwebhooks.webhooks import Webhook as Verifier

    from devstack.platforms.webhook_receiver import WebhookReceiver

    ws, rest = f"jrw-{uuid.uuid4().hex[:8]}", running.rest
    for p, tier in (("gold", "gold"), ("plain", "silver")):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/{p}:upsert", {"profile": {
            "email": f"{p}@example.com", "attributes": [{"key": "tier", "stringValue": tier}]}})
    vip = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=vip", {"displayName": "VIP",
                                                                         "kind": "KIND_STATIC"})
    assert vip["kind"] == "KIND_STATIC"
    ruled = rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=tiered", {
        "displayName": "Tiered", "definition": '{"attribute": "tier", "op": "exists"}'})
    assert rest.call("POST", f"/v1/{ruled['name']}:addMembers", {"profiles": [
        f"workspaces/{ws}/profiles/gold"]}).status == 400  # FAILED_PRECONDITION: a rules segment
    with WebhookReceiver() as receiver:
        crm = rest.ok("POST", f"/v1/workspaces/{ws}/webhooks?webhookId=crm", {
            "displayName": "CRM", "uri": receiver.url("/crm"), "eventTypes": ["campaign.scheduled"]})
        old = rest.ok("POST", f"/v1/workspaces/{ws}/webhooks?webhookId=old", {
            "displayName": "Old", "uri": receiver.url("/old"), "eventTypes": ["campaign.scheduled"]})

        def journey(condition: dict, segment: str, hooks: list[str]) -> dict:
            steps = [{"id": "tier", "branch": {"attribute": condition, "onTrue": "join", "onFalse": "done"}},
                     {"id": "join", "addToSegment": {"segment": segment}, "next": "hook-0"}]
            steps += [{"id": f"hook-{i}", "callWebhook": {"webhook": h}, "next": f"hook-{i + 1}"}
                      for i, h in enumerate(hooks)]
            steps[-1]["next"] = "done"
            return {"displayName": "Gold", "definition": {
                "trigger": {"event": {"event": "signup"}}, "entryStep": "tier", "steps": steps + [
                    {"id": "done", "exit": {}}]}}

        gold = {"property": "tier", "operator": "OPERATOR_EQUALS", "value": "gold"}
        bad = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=bad", journey(
            {"property": "tier", "operator": "OPERATOR_GREATER_THAN", "value": "lots"}, ruled["name"],
            [f"workspaces/{ws}/webhooks/nope", "workspaces/someone-else/webhooks/crm"]))
        refused = rest.call("POST", f"/v1/{bad['name']}:publish", {})
        assert refused.status == 400, refused.body
        fields = {v["field"]: v["description"] for d in refused.body["details"] for v in d.get("fieldViolations", [])}
        assert "step 'tier'" in fields["journey.definition.steps[0].branch.attribute.value"]
        assert "not a static segment" in fields["journey.definition.steps[1].add_to_segment.segment"]
        assert "step 'hook-0'" in fields["journey.definition.steps[2].call_webhook.webhook"]
        assert "step 'hook-1'" in fields["journey.definition.steps[3].call_webhook.webhook"]
        missing = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=missing", journey(
            gold, vip["name"], [f"workspaces/{ws}/webhooks/nope"]))
        refused = rest.call("POST", f"/v1/{missing['name']}:publish", {})
        assert refused.status == 400, refused.body
        assert [v["field"] for d in refused.body["details"] for v in d.get("fieldViolations", [])] == [
            "journey.definition.steps[2].call_webhook.webhook"]

        welcome = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=welcome-vip", {
            "displayName": "Welcome, VIP", "definition": {"trigger": {"segmentEntered": {"segment": vip["name"]}},
                                                          "entryStep": "done", "steps": [{"id": "done", "exit": {}}]}})
        rest.ok("POST", f"/v1/{welcome['name']}:publish", {})
        made = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=gold", journey(gold, vip["name"], [
            crm["name"], old["name"]]))
        rest.ok("POST", f"/v1/{made['name']}:publish", {})
        rest.ok("DELETE", f"/v1/{old['name']}")  # gone after the publish: the step is skipped, the path says why
        ingest(rest, ws, [event(ws, p, "signup", f"signup-{p}") for p in ("gold", "plain")])

        [request] = receiver.wait_for("/crm", 1, timeout=60)
        delivered = Verifier(crm["signingSecret"]).verify(request.body, request.headers)
        [entry] = eventually(lambda: [e for e in explained(rest, ws, "gold")
                                      if e["journey"] == made["name"] and e.get("state") == "EXITED"],
                             "the gold profile's way through", 30)
        assert delivered["type"] == "journey.step" and delivered["data"].pop("entry")
        assert delivered["data"] == {"workspace": f"workspaces/{ws}", "journey": made["name"], "version": 1,
                                     "step": "hook-0", "profile": f"workspaces/{ws}/profiles/gold"}
        path = [(t["kind"], t.get("step", ""), t.get("detail", "")) for t in entry["path"]]
        assert ("step", "tier", "on_true") in path and ("webhook_queued", "hook-0", crm["name"]) in path
        assert ("segment_add", "join", vip["name"]) in path and "segment_failed" not in [t[0] for t in path]
        [skip] = [t for t in path if t[0] == "webhook_skipped"]
        assert skip[1] == "hook-1" and "NOT_FOUND" in skip[2], path
        [plain] = explained(rest, ws, "plain")
        assert ("step", "tier", "on_false") in [(t["kind"], t.get("step", ""), t.get("detail", ""))
                                                for t in plain["path"]]
        log = eventually(lambda: [d for d in rest.ok("GET", f"/v1/{crm['name']}/deliveries").get(
            "webhookDeliveries", []) if d["state"] == "STATE_SUCCEEDED"], "the delivery in the CRM's log", 30)
        assert [d["eventType"] for d in log] == ["journey.step"]
        assert len(receiver.received("/crm")) == 1 and receiver.received("/old") == []

    members = rest.ok("POST", f"/v1/{vip['name']}:checkMembership", {"profiles": [
        f"workspaces/{ws}/profiles/gold", f"workspaces/{ws}/profiles/plain"]})["memberships"]
    assert [m.get("member", False) for m in members] == [True, False]
    # audience announced the new member (segment_updated): the journey on entering `vip` took it in
    eventually(lambda: [e for e in explained(rest, ws, "gold") if e["journey"] == welcome["name"]],
               "the segment_entered journey of the static segment", 30)
    again = rest.ok("POST", f"/v1/{vip['name']}:addMembers", {"profiles": [f"workspaces/{ws}/profiles/gold",
                                                                          f"workspaces/{ws}/profiles/nobody"]})
    assert again.get("added", []) == [] and again["unchanged"] == [f"workspaces/{ws}/profiles/gold"]
    assert again["notFound"] == [f"workspaces/{ws}/profiles/nobody"]


@pytest.mark.embedded_only("the date trigger reads audience over gRPC, not the bus (CI time)")
def test_a_date_attribute_trigger_enters_a_profile_on_its_birthday(running):
    """A birthday journey at a minute of the day two minutes ago (UTC): the profile whose birthday is today
    enters at once (its occurrence came less than a day ago), once, and gets its email; a birthday in two
    months and a profile without one do not enter."""
    from datetime import timedelta

    ws, rest = f"jrd-{uuid.uuid4().hex[:8]}", running.rest
    moment = datetime.now(UTC) - timedelta(minutes=2)
    later = moment + timedelta(days=61)
    for p, day in (("today", moment), ("later", later), ("none", None)):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/{p}:upsert", {"profile": {
            "email": f"{p}@example.com", "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}],
            "attributes": [{"key": "birthday", "stringValue": f"1990-{day:%m-%d}"}] if day else []}})
    email, _ = templates(rest, ws)
    journey = rest.ok("POST", f"/v1/workspaces/{ws}/journeys?journeyId=birthday", {
        "displayName": "Birthday", "definition": {
            "trigger": {"dateAttribute": {"attribute": "birthday", "minuteOfDay": moment.hour * 60 + moment.minute}},
            "entryStep": "card", "reentry": {"mode": "MODE_ALWAYS"},
            "steps": [{"id": "card", "send": {"channel": "CHANNEL_EMAIL", "template": email}, "next": "done"},
                      {"id": "done", "exit": {}}]}})
    rest.ok("POST", f"/v1/{journey['name']}:publish", {})
    entries = eventually(lambda: explained(rest, ws, "today"), "the birthday's entry", 60)
    assert entries[0]["path"][0]["detail"] == f"date:birthday:{moment:%Y-%m-%d}", entries
    eventually(lambda: messages(rest, ws)[("today", "CHANNEL_EMAIL")] == 1, "the birthday email", 30)
    assert explained(rest, ws, "later") == [] and explained(rest, ws, "none") == []
    assert len(explained(rest, ws, "today")) == 1
