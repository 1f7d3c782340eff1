"""Public endpoints through the real edge, safe: a click redirects only to the
URL signed into its link (302 to it; a changed URL, message or signature is a
400 with no Location), opens and unsubscribes verify their token (bad,
tampered or expired: 400, nothing changes; the unsubscribe page says so), and
provider callbacks are accepted only signed, and only recently signed."""

from __future__ import annotations

import email.policy
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from devstack.servers import smtp_sink
from svc_kit.channels import Channel
from svc_kit.link_tracking import TrackingClaims, sign_tracking
from svc_kit.signing import KEY_VARIABLE, LinkClaims, callback_signature, sign
from tests.e2e.test_notify import email_message, send, upsert, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.embedded_only(
    "signing and verifying links and callbacks happens in the edge and notify, whatever carries the sends; "
    "the send path itself runs on both buses in test_campaign_schedule and test_campaign_launch (CI time)")]
ROOT = Path(__file__).resolve().parents[2]
TARGET = "https://shop.example.com/sale?utm_source=email&x=1"


def key(running) -> bytes:
    return running.platform.env[KEY_VARIABLE].encode()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sent_email(running, name: str, timeout: float = 30.0) -> email.message.EmailMessage:
    deadline = time.monotonic() + timeout
    while True:
        for record in smtp_sink.read_messages(running.platform.state_dir / smtp_sink.STORE_NAME):
            message = email.message_from_string(record["data"], policy=email.policy.default)
            if message["X-Notify-Message"] == name:
                return message
        assert time.monotonic() < deadline, f"no email for {name} in the SMTP sink"
        time.sleep(0.2)


def tracked_email(running, ws: str, profile: str) -> tuple[str, email.message.EmailMessage]:
    """A message rendered from a template with a link, as the content service signs it, and its email."""
    rest = running.rest
    upsert(rest, ws, profile, email=f"{profile}@example.com")
    template = rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=sale", {
        "displayName": "Sale", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Sale", "html": f'<p><a href="{TARGET.replace("&", "&amp;")}">Shop</a> '
                                                         '<a href="{{ message.unsubscribe_url }}">Unsubscribe</a></p>',
                              "text": "Shop"}}})
    assert template.status == 200, template.body
    assert rest.call("POST", f"/v1/{template.body['name']}:publish", {}).status == 200
    response = rest.call("POST", f"/v1/workspaces/{ws}/messages:send", {"message": {
        "channel": "CHANNEL_EMAIL", "recipient": f"workspaces/{ws}/profiles/{profile}",
        "idempotencyKey": f"sale/{profile}", "template": {"template": template.body["name"]}}})
    assert response.status == 200, response.body
    name = response.body["message"]["name"]
    wait_for(rest, name, {"STATE_SENT"})
    return name, sent_email(running, name)


def html_of(message: email.message.EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def test_a_click_in_a_sent_email_redirects_to_its_signed_url_and_a_tampered_one_nowhere(running):
    ws, rest = f"links-{uuid.uuid4().hex[:8]}", running.rest
    name, message = tracked_email(running, ws, "ann")
    html = html_of(message)
    click = unescape(next(part.split('"')[0] for part in html.split('href="')[1:] if ":click?" in part))
    assert urlsplit(click).path == f"/v1/{name}:click"
    for _ in range(2):  # counted once, redirected each time
        followed = rest.call("GET", local(click), headers={"user-agent": "e2e-mail-client"})
        assert followed.status == 302, (followed.status, followed.body)
        assert followed.headers["location"] == TARGET and "x-redirect-location" not in followed.headers
    assert rest.call("GET", f"/v1/{name}").body["firstClickTime"]

    token = parse_qs(urlsplit(click).query)["token"][0]
    recipient, link, mac = token.split(".")
    evil = "https://evil.example.com/phish"
    forged_link = sign_tracking(b"x" * 32, TrackingClaims(ws, "ann", "", name.rsplit("/", 1)[1], "click", "l1",
                                                          evil)).split(".")[1]
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    other = send(rest, ws, email_message(ws, "ann", "other"))["message"]["name"]
    tampered = {
        "a changed url": f"/v1/{name}:click?token={token}&url={quote(evil, safe='')}",
        "a url and no token": f"/v1/{name}:click?url={quote(evil, safe='')}",
        "another destination in the token": f"/v1/{name}:click?token={recipient}.{forged_link}.{mac}",
        "a changed signature": f"/v1/{name}:click?token={recipient}.{link}.{flipped}",
        "another message": f"/v1/{other}:click?token={token}",
        "a message that does not exist": f"/v1/workspaces/{ws}/messages/nope:click?token={token}",
        "an unsubscribe token": f"/v1/{name}:click?token={sign(key(running), LinkClaims(ws, 'ann', None))}"
                                f"&url={quote(evil, safe='')}",
    }
    for what, path in tampered.items():
        response = rest.call("GET", path)
        assert response.status == 400, (what, response.status, response.body)
        assert "location" not in response.headers and "x-redirect-location" not in response.headers, what
        assert response.body["code"] == 3 and "evil.example.com" not in json.dumps(response.body), what


def test_the_open_pixel_counts_a_signed_open_and_refuses_a_tampered_one(running):
    ws, rest = f"opens-{uuid.uuid4().hex[:8]}", running.rest
    name, message = tracked_email(running, ws, "bea")
    pixel = unescape(next(part.split('"')[0] for part in html_of(message).split('src="')[1:] if ":open?" in part))
    token = parse_qs(urlsplit(pixel).query)["token"][0]
    bad = rest.call("GET", f"/v1/{name}:open?token={token[:-2]}xx")
    assert bad.status == 400 and bad.body["message"].startswith("token: bad signature"), bad.body
    assert "firstOpenTime" not in rest.call("GET", f"/v1/{name}").body
    other = send(rest, ws, email_message(ws, "bea", "other"))["message"]["name"]
    assert rest.call("GET", f"/v1/{other}:open?token={token}").status == 400  # the token of another message
    opened = rest.call("GET", local(pixel))
    assert opened.status == 200 and opened.headers["content-type"] == "image/gif"
    assert rest.call("GET", f"/v1/{name}").body["firstOpenTime"]


def test_unsubscribe_links_verify_their_token_and_expire(running):
    ws, rest = f"unsubs-{uuid.uuid4().hex[:8]}", running.rest
    _, message = tracked_email(running, ws, "cid")
    link = message["List-Unsubscribe"].strip("<>")
    one_click = {"content-type": "application/x-www-form-urlencoded"}
    token = parse_qs(urlsplit(link).query)["token"][0]
    payload, mac = token.split(".")
    now = datetime.now(UTC)
    expired = sign(key(running), LinkClaims(ws, "cid", Channel.EMAIL, "", now - timedelta(days=400),
                                            now - timedelta(days=35)))
    refused = {"expired": expired, "tampered": f"{payload}x.{mac}", "garbage": "nope"}
    for what, bad in refused.items():
        page = rest.call("GET", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token={bad}")
        assert page.status == 400 and page.headers["content-type"].startswith("text/html"), (what, page)
        assert "Nothing was changed" in page.body and "<form" not in page.body, what
        assert ("has expired" in page.body) == (what == "expired"), what
        posted = rest.call("POST", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token={bad}",
                           raw=b"List-Unsubscribe=One-Click", headers=one_click)
        assert posted.status == 400 and posted.body["message"].startswith("token: "), (what, posted.body)
    assert "expired: this link was valid until" in rest.call(
        "POST", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token={expired}", raw=b"").body["message"]
    assert rest.call("GET", f"/v1/workspaces/{ws}/suppressions").body.get("suppressions", []) == []

    page = rest.call("GET", local(link))  # the good link: the page, then the one-click POST
    assert page.status == 200 and '<form method="post">' in page.body
    done = rest.call("POST", local(link), raw=b"List-Unsubscribe=One-Click", headers=one_click)
    assert done.status == 200 and done.body["reason"] == "REASON_UNSUBSCRIBED", done.body
    entries = rest.call("GET", f"/v1/workspaces/{ws}/suppressions").body["suppressions"]
    assert [e["profile"] for e in entries] == [f"workspaces/{ws}/profiles/cid"]


def test_provider_callbacks_are_accepted_signed_and_recent_only(running):
    ws, rest = f"hooks-{uuid.uuid4().hex[:8]}", running.rest
    upsert(rest, ws, "dan", email="dan@example.com")
    name = send(rest, ws, email_message(ws, "dan", "k1"))["message"]["name"]
    wait_for(rest, name, {"STATE_SENT"})
    secret = running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE]
    events = [{"message": name, "type": "delivered"}]
    path, body, headers = smtp_sink.delivery_callback(secret, ws, events)
    provider = f"workspaces/{ws}/providers/default-smtp"
    now = time.time()
    refused = {
        "unsigned": {"content-type": "application/json"},
        "a bad signature": {**headers, "x-notify-signature": callback_signature("not-the-secret", provider, body,
                                                                                now)},
        "a stale timestamp": {**headers, "x-notify-signature": callback_signature(secret, provider, body,
                                                                                  now - 3600)},
        "a timestamp from the future": {**headers, "x-notify-signature": callback_signature(secret, provider, body,
                                                                                            now + 3600)},
        "another workspace's signature": {**headers, "x-notify-signature": callback_signature(
            secret, "workspaces/other/providers/default-smtp", body, now)},
        "an old-style signature": {**headers, "x-notify-signature": "sha256=" + "0" * 64},
    }
    for what, sent_headers in refused.items():
        response = rest.call("POST", path, raw=body, headers=sent_headers)
        assert response.status == 400, (what, response.status, response.body)
        assert response.body["message"].startswith("x-notify-signature: "), (what, response.body)
        assert rest.call("GET", f"/v1/{name}").body["state"] == "STATE_SENT", what
    stale = rest.call("POST", path, raw=body, headers=refused["a stale timestamp"])
    assert "stale" in stale.body["message"]
    # `mkt notify sign-callback` signs with the secret `make run` keeps (the platform's state folder).
    signed = subprocess.run([sys.executable, "-m", "mkt", "notify", "sign-callback", "--provider", provider],
                            input=body, capture_output=True, check=True, cwd=ROOT,
                            env={**os.environ, "MKT_STATE_DIR": str(running.platform.state_dir)}).stdout.decode()
    accepted = rest.call("POST", path, raw=body, headers={**headers, "x-notify-signature": signed.strip()})
    assert accepted.status == 200, accepted.body
    assert rest.call("GET", f"/v1/{name}").body["state"] == "STATE_DELIVERED"
    again = rest.call("POST", path, raw=body, headers=headers)  # the sink helper's signature; a repeat changes nothing
    assert again.status == 200, again.body
