"""The notify service through the REST edge, with the whole platform running
(the real audience service on its embedded store, the devstack SMTP sink as
the default email provider, the provider sink for SMS): an email arrives,
duplicates deliver once, quiet hours defer, suppressions suppress, the in-app
inbox, tracked clicks redirect and count once, bounces become suppressions,
and an SMS goes out with its signed status callback coming back."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import event_schemas
from devstack.servers import provider_sink, smtp_sink
from svc_kit.bus.factory import make_bus
from svc_kit.bus.port import SubscriptionOptions
from svc_kit.channels import Channel
from svc_kit.link_tracking import TrackingClaims, sign_tracking
from svc_kit.signing import KEY_VARIABLE, LinkClaims, sign

pytestmark = pytest.mark.e2e
TOPIC = "persistent://public/default/marketing.notify.v1"


def workspace(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upsert(rest, ws: str, external_id: str, **profile) -> None:
    profile.setdefault("consents", [{"channel": c, "status": "STATUS_GRANTED"}
                                    for c in ("CHANNEL_EMAIL", "CHANNEL_SMS", "CHANNEL_IN_APP")])
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert", {"profile": profile})
    assert response.status == 200, response.body


def email_message(ws: str, profile: str, key: str, subject: str = "Hello", **extra) -> dict:
    return {"channel": "CHANNEL_EMAIL", "recipient": f"workspaces/{ws}/profiles/{profile}", "idempotencyKey": key,
            "content": {"email": {"subject": subject, "text": "Hi there", "html": "<p>Hi there</p>"}}, **extra}


def send(rest, ws: str, message: dict) -> dict:
    response = rest.call("POST", f"/v1/workspaces/{ws}/messages:send", {"message": message})
    assert response.status == 200, response.body
    return response.body


def wait_for(rest, name: str, states: set[str], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = rest.call("GET", f"/v1/{name}").body
        if message["state"] in states:
            return message
        assert time.monotonic() < deadline, f"{name} stayed {message['state']}: {message.get('stateReason')}"
        time.sleep(0.2)


def received(running, message_name: str) -> list[dict]:
    workspace_id, message_id = message_name.split("/")[1], message_name.rsplit("/", 1)[1]
    wanted = f"<{message_id}.{workspace_id}@localhost>"
    return [m for m in smtp_sink.read_messages(running.platform.state_dir / smtp_sink.STORE_NAME)
            if m["message_id"] == wanted]


def test_an_email_sent_through_the_edge_arrives_and_its_attempt_is_listed(running):
    ws, rest = workspace("mail"), running.rest
    upsert(rest, ws, "ann", email="ann@example.com", timeZone="Europe/Paris")
    answer = send(rest, ws, email_message(ws, "ann", "welcome/ann/EMAIL/1", "Welcome Ann",
                                          category="MESSAGE_CATEGORY_TRANSACTIONAL", labels={"flow": "welcome"}))
    assert answer["duplicate"] is False and answer["message"]["state"] in ("STATE_QUEUED", "STATE_SENT",
                                                                           "STATE_SENDING")
    name = answer["message"]["name"]
    sent = wait_for(rest, name, {"STATE_SENT"})
    assert sent["provider"] == f"workspaces/{ws}/providers/default-smtp" and sent["attemptCount"] == 1
    [mail] = received(running, name)
    assert mail["rcpt_tos"] == ["ann@example.com"] and mail["subject"] == "Welcome Ann"
    deliveries = rest.call("GET", f"/v1/{name}/deliveries").body["deliveries"]
    assert [(d["state"], d["address"]) for d in deliveries] == [("STATE_ACCEPTED", "ann@example.com")]
    assert deliveries[0]["providerResponse"].startswith("250")
    listed = rest.call("GET", f"/v1/workspaces/{ws}/messages?filter="
                              + urllib.parse.quote("state = STATE_SENT AND channel = CHANNEL_EMAIL")).body
    assert [m["name"] for m in listed["messages"]] == [name]
    assert rest.call("GET", f"/v1/{name.replace(ws, 'other')}").status == 404
    bad = rest.call("POST", f"/v1/workspaces/{ws}/messages:send", {"message": {"channel": "CHANNEL_EMAIL"}})
    assert bad.status == 400 and bad.body["message"].startswith("message."), bad.body


def test_duplicate_sends_with_one_key_deliver_once(running):
    ws, rest = workspace("dup"), running.rest
    upsert(rest, ws, "bob", email="bob@example.com")
    answers: list[dict] = []
    start = threading.Barrier(8)

    def one() -> None:
        start.wait()
        answers.append(send(rest, ws, email_message(ws, "bob", "spring/bob/EMAIL/1")))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({a["message"]["name"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    name = answers[0]["message"]["name"]
    wait_for(rest, name, {"STATE_SENT"})
    batch = rest.call("POST", f"/v1/workspaces/{ws}/messages:batchSend", {"requests": [
        {"message": email_message(ws, "bob", "spring/bob/EMAIL/1")},
        {"message": email_message(ws, "bob", "spring/bob/EMAIL/2")},
        {"message": {"channel": "CHANNEL_EMAIL"}}]})
    assert batch.status == 200, batch.body
    first, second, refused = batch.body["results"]
    assert first["duplicate"] is True and first["message"]["name"] == name
    assert second["duplicate"] is False and refused["error"]["code"] == 3 and "message" not in refused
    wait_for(rest, second["message"]["name"], {"STATE_SENT"})
    time.sleep(0.5)
    assert len(received(running, name)) == 1


def test_a_message_inside_quiet_hours_is_deferred_and_goes_when_they_end(running):
    ws, rest = workspace("quiet"), running.rest
    zone = "Pacific/Kiritimati"
    now = datetime.now(ZoneInfo(zone))
    start, end = now - timedelta(minutes=1), now + timedelta(seconds=6)

    def tod(t):
        return {"hours": t.hour, "minutes": t.minute, "seconds": t.second}

    settings_name = f"workspaces/{ws}/notifySettings"
    current = rest.call("GET", f"/v1/{settings_name}").body
    assert current["quietHours"] == [] and current["etag"]
    updated = rest.call("PATCH", f"/v1/{settings_name}?updateMask=quietHours,defaultTimeZone", {
        "quietHours": [{"startTime": tod(start), "endTime": tod(end)}], "defaultTimeZone": zone,
        "etag": current["etag"]})
    assert updated.status == 200, updated.body
    upsert(rest, ws, "cat", email="cat@example.com")
    name = send(rest, ws, email_message(ws, "cat", "night/cat/EMAIL/1"))["message"]["name"]
    deferred = wait_for(rest, name, {"STATE_DEFERRED", "STATE_SENT"})
    assert deferred["state"] == "STATE_DEFERRED", deferred
    assert deferred["stateReason"].startswith("quiet hours until") and zone in deferred["stateReason"]
    next_attempt = datetime.fromisoformat(deferred["nextAttemptTime"].replace("Z", "+00:00"))
    assert abs((next_attempt - end.replace(microsecond=0)).total_seconds()) < 1.5
    sent = wait_for(rest, name, {"STATE_SENT"}, timeout=30)
    assert datetime.fromisoformat(sent["sentTime"].replace("Z", "+00:00")) >= next_attempt
    assert len(received(running, name)) == 1


def test_a_suppressed_profile_is_suppressed(running):
    ws, rest = workspace("supp"), running.rest
    upsert(rest, ws, "dan", email="dan@example.com")
    entry = rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                      {"email": "dan@example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL"}).body
    name = send(rest, ws, email_message(ws, "dan", "k1", category="MESSAGE_CATEGORY_TRANSACTIONAL"))["message"]["name"]
    suppressed = wait_for(rest, name, {"STATE_SUPPRESSED", "STATE_SENT"})
    assert suppressed["state"] == "STATE_SUPPRESSED"
    assert suppressed["stateReason"] == f"SUPPRESSED: suppressed by {entry['name']}"
    upsert(rest, ws, "eve", email="eve@example.com", consents=[])  # no marketing consent
    no_consent = wait_for(rest, send(rest, ws, email_message(ws, "eve", "k2"))["message"]["name"],
                          {"STATE_SUPPRESSED", "STATE_SENT"})
    assert no_consent["stateReason"].startswith("NO_CONSENT")
    assert received(running, name) == []


def test_the_in_app_inbox(running):
    ws, rest = workspace("inbox"), running.rest
    upsert(rest, ws, "fay")
    names = []
    for i in range(3):
        names.append(send(rest, ws, {"channel": "CHANNEL_IN_APP", "recipient": f"workspaces/{ws}/profiles/fay",
                                     "idempotencyKey": f"inapp/{i}",
                                     "content": {"inApp": {"title": f"News {i}", "body": "**New** things",
                                                           "actions": [{"label": "Open", "url": "app://news"}]}}}
                          )["message"]["name"])
    for name in names:
        assert wait_for(rest, name, {"STATE_DELIVERED"})["deliverTime"]
    inbox = f"workspaces/{ws}/inboxes/fay"
    assert rest.call("GET", f"/v1/{inbox}").body["unreadCount"] == 3
    items = rest.call("GET", f"/v1/{inbox}/items?pageSize=2").body
    assert [i["content"]["title"] for i in items["inboxItems"]] == ["News 2", "News 1"] and items["nextPageToken"]
    rest_page = rest.call("GET", f"/v1/{inbox}/items?pageSize=2&pageToken={items['nextPageToken']}").body
    assert [i["content"]["title"] for i in rest_page["inboxItems"]] == ["News 0"]
    newest = items["inboxItems"][0]
    marked = rest.call("POST", f"/v1/{inbox}:markRead", {"items": [newest["name"]]}).body
    assert marked == {"markedCount": 1, "unreadCount": 2}
    unread = rest.call("GET", f"/v1/{inbox}/items?filter=" + urllib.parse.quote("read = false")).body
    assert [i["content"]["title"] for i in unread["inboxItems"]] == ["News 1", "News 0"]
    assert rest.call("POST", f"/v1/{inbox}:markRead", {}).body == {"markedCount": 2, "unreadCount": 0}
    assert rest.call("DELETE", f"/v1/{newest['name']}").status == 200
    assert rest.call("DELETE", f"/v1/{newest['name']}").status == 404
    assert rest.call("GET", f"/v1/{inbox}").body["totalCount"] == 2


def notify_events(running, message_name: str, wanted: int, timeout: float = 20.0) -> list[dict]:
    bus = make_bus(running.platform.env)
    try:
        consumer = bus.consumer(TOPIC, f"e2e-{uuid.uuid4().hex[:8]}", event_schemas.load("notify.v1"),
                                SubscriptionOptions(initial_position="earliest"))
        found, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline and len(found) < wanted:
            message = consumer.receive(0.3)
            if message is None:
                continue
            consumer.ack(message)
            if message.key == message_name:
                found.append(message.value)
        # Anything more for this message published meanwhile?
        while (message := consumer.receive(0.5)) is not None:
            consumer.ack(message)
            if message.key == message_name:
                found.append(message.value)
        return found
    finally:
        bus.close()


def test_a_tracked_click_redirects_and_counts_once(running):
    ws, rest = workspace("click"), running.rest
    upsert(rest, ws, "gus", email="gus@example.com")
    name = send(rest, ws, email_message(ws, "gus", "k1"))["message"]["name"]
    wait_for(rest, name, {"STATE_SENT"})
    key = running.platform.env[KEY_VARIABLE].encode()
    target = "https://shop.example.com/sale?utm_source=email&x=1"
    message_id = name.rsplit("/", 1)[1]
    token = sign_tracking(key, TrackingClaims(ws, "gus", "", message_id, "click", "l1", target))
    path = f"/v1/{name}:click?token={token}&url={urllib.parse.quote(target, safe='')}"
    for _ in range(2):
        response = rest.call("GET", path, headers={"user-agent": "e2e-mail-client"})
        assert response.status == 302, (response.status, response.body)
        assert response.headers["location"] == target and "x-redirect-location" not in response.headers
    forged = rest.call("GET", f"/v1/{name}:click?token={token[:-2]}xx&url={urllib.parse.quote(target)}")
    assert forged.status == 400 and "location" not in forged.headers
    other = sign_tracking(key, TrackingClaims(ws, "someone-else", "", message_id, "click", "l1", target))
    assert rest.call("GET", f"/v1/{name}:click?token={other}&url={urllib.parse.quote(target)}").status == 400
    plain = sign(key, LinkClaims(ws, "gus", Channel.EMAIL))  # an unsubscribe token binds no destination
    assert rest.call("GET", f"/v1/{name}:click?token={plain}&url={urllib.parse.quote(target)}").status == 400
    opener = sign_tracking(key, TrackingClaims(ws, "gus", "", message_id, "open"))
    pixel = rest.call("GET", f"/v1/{name}:open?token={opener}")
    assert pixel.status == 200 and pixel.headers["content-type"] == "image/gif"
    message = rest.call("GET", f"/v1/{name}").body
    assert message["firstClickTime"] and message["firstOpenTime"]
    recorded = rest.call("POST", f"/v1/{name}:recordEngagement", {"type": "TYPE_CLICK", "token": token,
                                                                   "url": target})
    assert recorded.status == 200, recorded.body
    events = notify_events(running, name, 3)
    kinds = [e["event_type"] for e in events]
    assert kinds.count("message_clicked") == 1 and kinds.count("message_opened") == 1, kinds
    clicked = next(e for e in events if e["event_type"] == "message_clicked")
    assert clicked["payload"]["url"] == target and clicked["payload"]["user_agent"] == "e2e-mail-client"


def test_a_hard_bounce_marks_the_message_and_suppresses_the_address(running):
    ws, rest = workspace("bounce"), running.rest
    upsert(rest, ws, "hal", email="hal@example.com")
    name = send(rest, ws, email_message(ws, "hal", "k1"))["message"]["name"]
    wait_for(rest, name, {"STATE_SENT"})
    callback, body, signed = smtp_sink.delivery_callback(
        running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE], ws,
        [{"message": name, "type": "bounced", "bounce_type": "hard", "detail": "550 5.1.1 user unknown"}])
    for _ in range(2):  # providers repeat callbacks; the second changes nothing
        response = rest.call("POST", callback, raw=body, headers=signed)
        assert response.status == 200, response.body
    bounced = rest.call("GET", f"/v1/{name}").body
    assert bounced["state"] == "STATE_BOUNCED" and "550 5.1.1" in bounced["stateReason"]
    delivery = rest.call("GET", f"/v1/{name}/deliveries").body["deliveries"][0]
    assert delivery["state"] == "STATE_BOUNCED" and delivery["bounceType"] == "BOUNCE_TYPE_HARD"
    deadline = time.monotonic() + 30
    while True:  # the audience service consumes message_bounced
        entries = rest.call("GET", f"/v1/workspaces/{ws}/suppressions").body.get("suppressions", [])
        if entries:
            break
        assert time.monotonic() < deadline, "no suppression from the bounce"
        time.sleep(0.3)
    assert [(e["email"], e["channel"], e["reason"], e["source"]) for e in entries] == [
        ("hal@example.com", "CHANNEL_EMAIL", "REASON_BOUNCED", "notify:bounce")]
    again = send(rest, ws, email_message(ws, "hal", "k2", category="MESSAGE_CATEGORY_TRANSACTIONAL"))
    assert wait_for(rest, again["message"]["name"], {"STATE_SUPPRESSED", "STATE_SENT"})["state"] == "STATE_SUPPRESSED"
    unknown = rest.call("POST", f"/v1/workspaces/{ws}/providers/nope:callback", raw=body, headers=signed)
    assert unknown.status == 404


def test_an_sms_through_a_provider_with_its_signed_status_callback(running):
    ws, rest = workspace("sms"), running.rest
    secrets = running.platform.state_dir / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "sms-token").write_text("tok-e2e\n")
    sink_url = f"http://127.0.0.1:{running.platform.provider_sink_port}"
    created = rest.call("POST", f"/v1/workspaces/{ws}/providers?providerId=sms", {
        "displayName": "Local SMS", "channel": "CHANNEL_SMS", "rateLimit": {"messagesPerSecond": 50, "burst": 50},
        "twilio": {"baseUrl": sink_url, "accountSid": "AC42", "authTokenSecret": "sms-token",
                   "fromNumber": "+15550001111"}})
    assert created.status == 200, created.body
    assert created.body["twilio"]["authTokenSecret"] == "sms-token" and "tok-e2e" not in json.dumps(created.body)
    bad = rest.call("POST", f"/v1/workspaces/{ws}/providers", {"displayName": "x", "channel": "CHANNEL_EMAIL",
                                                               "twilio": {"accountSid": "AC1"}})
    assert bad.status == 400 and "provider." in bad.body["message"]
    tested = rest.call("POST", f"/v1/workspaces/{ws}/providers/sms:test", {}).body
    assert tested["success"] is True, tested
    upsert(rest, ws, "ivy", phone="+33612345678")
    name = send(rest, ws, {"channel": "CHANNEL_SMS", "recipient": f"workspaces/{ws}/profiles/ivy",
                           "idempotencyKey": "otp/ivy/1", "category": "MESSAGE_CATEGORY_TRANSACTIONAL",
                           "content": {"sms": {"body": "Your code is 4242"}}})["message"]["name"]
    delivered = wait_for(rest, name, {"STATE_DELIVERED"}, timeout=30)  # via the sink's status callback
    assert delivered["provider"] == f"workspaces/{ws}/providers/sms"
    requests = [r for r in provider_sink.read_requests(running.platform.state_dir / provider_sink.STORE_NAME)
                if r.get("idempotency_key") == name]
    assert len(requests) == 1 and requests[0]["form"]["Body"] == "Your code is 4242"
    assert requests[0]["form"]["StatusCallback"].endswith(f"/v1/workspaces/{ws}/providers/sms:callback")
    forged = rest.call("POST", f"/v1/workspaces/{ws}/providers/sms:callback",
                       raw=f"MessageSid={delivered['providerMessageId']}&MessageStatus=undelivered".encode(),
                       headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bad"})
    assert forged.status == 400 and rest.call("GET", f"/v1/{name}").body["state"] == "STATE_DELIVERED"
