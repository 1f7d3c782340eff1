"""`make demo`: one campaign from profiles to inboxes, on a running platform
(`make run` in another terminal), through the REST edge only.

Creates a workspace's profiles, a segment, an email template with two
variants, and a campaign scheduled a few seconds ahead (`--lead`, no `:start`);
the campaign service's scheduler starts it by itself at its start time, and
the demo shows it RUNNING and its launch's progress (the launch snapshots the
segment and hands the messages to the notify service, which renders each one through the
content service and sends it to the local SMTP sink); shows the delivered
emails with their personal content, tracking links and unsubscribe link; then
a few recipients open their email, one clicks and buys (a purchase ingested
through the analytics API), one unsubscribes (shown suppressed); and ends with
the campaign's report from the analytics service, per variant, as a table.

    python -m devstack.tools.demo [--edge http://127.0.0.1:8080] [--workspace NAME] [--timeout 120]
                                  [--lead 5] [--read-time 11]
"""

from __future__ import annotations

import argparse
import email
import email.policy
from html import unescape
import json
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
import urllib.error
import urllib.request
from pathlib import Path

from devstack.servers import smtp_sink
from svc_kit.config import EnvReader

# What a person's mail app or browser sends; analytics reports scanners and privacy proxies apart.
BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/17.5 Safari/605.1.15")
REPORT_COLUMNS = ("sent", "delivered", "opened", "clicked", "unsubscribed", "converted")
PEOPLE = [("ada", "Ada", 420), ("grace", "Grace", 310), ("alan", "Alan", 275), ("edsger", "Edsger", 120),
          ("barbara", "Barbara", 515), ("ken", "Ken", 60), ("donald", "Donald", 230), ("frances", "Frances", 180),
          ("john", "John", 140), ("margaret", "Margaret", 390), ("tim", "Tim", 90), ("radia", "Radia", 205),
          ("leslie", "Leslie", 160), ("katherine", "Katherine", 330)]
MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text font-size="20px">{greeting}, {{{{ profile.first_name | default: "friend" }}}}!</mj-text>
<mj-text>You have spent {{{{ profile.attributes.ltv }}}} EUR with us. {offer}</mj-text>
<mj-button href="https://shop.example.com/spring?who={{{{ profile.external_id }}}}">Shop the sale</mj-button>
<mj-text font-size="11px"><a href="{{{{ message.unsubscribe_url }}}}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


class Edge:
    def __init__(self, base: str, token: str = ""):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None, raw: bytes | None = None,
             content_type: str = "application/json", missing_ok: bool = False,
             headers: dict[str, str] | None = None) -> dict | None:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"content-type": content_type,
                                                  **({"authorization": f"Bearer {self.token}"} if self.token else {}),
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            raise SystemExit(f"demo: {method} {path} answered {error.code}: {error.read().decode()[:500]}") from None
        except urllib.error.URLError as error:
            raise SystemExit(f"demo: the edge at {self.base} is out of reach ({error.reason}); is `make run` "
                             "running?") from None
        return json.loads(text) if text.startswith("{") else {"text": text}


def step(text: str) -> None:
    print(f"\n== {text}")


def wait_for(what: str, probe, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.5)


def setup(edge: Edge, ws: str) -> tuple[str, str]:
    step(f"profiles in workspaces/{ws}")
    for external_id, first_name, ltv in PEOPLE:
        edge.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert", {"profile": {
            "email": f"{external_id}@example.com", "time_zone": "Europe/Paris",
            "attributes": [{"key": "first_name", "stringValue": first_name}, {"key": "ltv", "doubleValue": ltv}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED", "source": "demo"}]}})
        print(f"  {external_id:8} {first_name:8} ltv {ltv}")
    step("segment: lifetime value of at least 100 EUR")
    segment = edge.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=good-customers", {
        "displayName": "Good customers",
        "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 100})})
    print(f"  {segment['name']}: {segment.get('size', '0')} members")
    step("email template with two variants (MJML, compiled once at save)")
    variants = [{"id": variant, "displayName": variant, "weight": 50, "content": {"email": {
        "subject": subject, "mjml": True, "html": MJML.format(greeting=greeting, offer=offer)}}}
        for variant, subject, greeting, offer in (
            ("a", "Spring sale: 20% off, {{ profile.first_name }}", "Hello", "Take 20% off this week."),
            ("b", "{{ profile.first_name }}, your spring treat is here", "Hi", "A spring treat: 20% off."))]
    template = edge.call("POST", f"/v1/workspaces/{ws}/templates?templateId=spring", {
        "displayName": "Spring sale", "channel": "CHANNEL_EMAIL", "content": variants[0]["content"],
        "variants": variants})
    version = edge.call("POST", f"/v1/{template['name']}:publish", {})
    print(f"  {template['name']} published as {version['name']}")
    return segment["name"], template["name"]


def launch(edge: Edge, ws: str, segment: str, template: str, timeout: float, lead: float) -> str:
    step(f"campaign: scheduled {lead:.0f} s ahead; the scheduler starts it by itself")
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + lead))
    campaign = edge.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Spring sale", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}})
    state = edge.call("POST", f"/v1/{campaign['name']}:schedule", {})["state"]
    print(f"  startTime {start}: :schedule -> {state} (no :start)")

    def running():
        body = edge.call("GET", f"/v1/{campaign['name']}")
        return body if body["state"] != "STATE_SCHEDULED" else None

    began = time.monotonic()
    state = wait_for("the scheduler to start the campaign", running, timeout + lead)["state"]
    print(f"  {time.strftime('%H:%M:%SZ', time.gmtime())}: {state} by itself, "
          f"{time.monotonic() - began:.1f} s after :schedule")
    if state not in ("STATE_RUNNING", "STATE_COMPLETED"):  # a small campaign may be over at first sight
        raise SystemExit(f"demo: the scheduler left the campaign {state}, not STATE_RUNNING")
    shown = set()

    def completed():  # the launch is planned from the campaign's own `campaign_started` event, a moment later
        body = edge.call("GET", f"/v1/{campaign['name']}/launch", missing_ok=True)
        if body:
            progress = (body["state"], tuple((t.get("total", "0"), t.get("sent", "0")) for t in body["targets"]))
            if progress not in shown:
                shown.add(progress)
                print(f"  launch {body['state']}: " + ", ".join(
                    f"{t.get('sent', '0')} of {t.get('total', '0')} handed to notify" for t in body["targets"]))
        return body if body and body["state"] == "STATE_COMPLETED" else None

    done = wait_for("the launch", completed, timeout)
    for target in done["targets"]:
        print(f"  launch: {target['segment']} on {target['channel']}: {target.get('total', '0')} in the snapshot, "
              f"{target.get('sent', '0')} handed to notify")
    return campaign["name"]


def delivered(store: Path, ws: str, expected: int, timeout: float) -> list[email.message.EmailMessage]:
    def mine():
        stored = smtp_sink.read_messages(store) if store.exists() else []
        found = [email.message_from_string(m["data"], policy=email.policy.default) for m in stored]
        found = [m for m in found if (m["X-Notify-Message"] or "").startswith(f"workspaces/{ws}/")]
        return found if len(found) >= expected else None
    return wait_for(f"{expected} emails in the SMTP sink ({store})", mine, timeout)


def show(messages: list[email.message.EmailMessage]) -> tuple[str, str, list[str]]:
    step(f"{len(messages)} emails in the local SMTP sink")
    unsubscribe = ""
    click = ""
    pixels = []
    for message in sorted(messages, key=lambda m: m["To"]):
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        links = sorted({unescape(link) for link in re.findall(r'<a [^>]*href="([^"]+)"', html)})
        print(f"  To: {message['To']}\n    Subject: {message['Subject']}")
        print(f"    Text: {' / '.join(line for line in text.splitlines()[:3] if line.strip())}")
        print(f"    List-Unsubscribe: {message['List-Unsubscribe'][:100]}...")
        for link in links:
            print(f"    link: {link[:100]}{'...' if len(link) > 100 else ''}")
        click = click or next((link for link in links if ":click?" in link), "")
        pixels += [unescape(src) for src in re.findall(r'<img [^>]*src="([^"]+:open\?[^"]+)"', html)]
        unsubscribe = unsubscribe or re.sub(r"^<|>$", "", message["List-Unsubscribe"].split(",")[0].strip())
    variants = {"a" if m["Subject"].startswith("Spring sale") else "b" for m in messages}
    print(f"  variants seen: {', '.join(sorted(variants))} (each recipient always gets the same one)")
    return click, unsubscribe, pixels


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def callback_secret(env) -> str:
    """The secret of `default-smtp`'s callbacks: MKT_SECRET_DEFAULT_SMTP_CALLBACK, else the one `make run` keeps."""
    from devstack.servers.platform import CALLBACK_KEY_FILE
    from svc_kit.config import state_dir

    if secret := env.get(smtp_sink.CALLBACK_SECRET_VARIABLE):
        return secret
    path = state_dir(env) / CALLBACK_KEY_FILE
    if not path.is_file():
        raise SystemExit(f"demo: no callback secret: set {smtp_sink.CALLBACK_SECRET_VARIABLE} or start `make run` "
                         f"(it keeps one in {path})")
    return path.read_text().strip()


def report_delivery(edge: Edge, ws: str, messages: list[email.message.EmailMessage], secret: str) -> None:
    """What a real email provider does by webhook (signed); the local SMTP sink has no such thing."""
    step("the email provider reports the deliveries (its signed webhook to the notify service)")
    names = sorted({m["X-Notify-Message"] for m in messages if m["X-Notify-Message"]})
    path, body, headers = smtp_sink.delivery_callback(secret, ws, [{"message": name, "type": "delivered"}
                                                                   for name in names])
    edge.call("POST", path, raw=body, headers=headers)
    print(f"  {len(names)} delivered")


def open_emails(pixels: list[str], count: int = 5) -> None:
    step(f"{min(count, len(pixels))} recipients open their email (their mail app loads the open pixel)")
    for pixel in pixels[:count]:
        request = urllib.request.Request(pixel, headers={"user-agent": BROWSER})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                print(f"  {response.status} {response.headers.get('content-type')}")
        except urllib.error.HTTPError as answer:
            print(f"  {answer.code}: {answer.read().decode()[:300]}")


def follow_click(link: str) -> str:
    """Clicks as a browser would; returns the profile the link was for (`who=` of the destination)."""
    step("one recipient clicks the tracked link (recorded once, then redirected)")
    request = urllib.request.Request(link, headers={"user-agent": BROWSER})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            print(f"  {response.status} (no redirect?)")
    except urllib.error.HTTPError as answer:
        if answer.code == 302:
            location = answer.headers.get("Location") or ""
            print(f"  {answer.code} Location: {location}")
            return location.rpartition("who=")[2]
        print(f"  {answer.code}: {answer.read().decode()[:300]}")
    return ""


def purchase(edge: Edge, ws: str, campaign: str, profile: str, timeout: float) -> None:
    step(f"{profile} buys (the shop sends the purchase to the analytics API)")
    # A purchase is credited, when it is stored, to the buyer's last click: let the click reach analytics
    # first (in life the purchase comes minutes later; here the click is still on its way over the bus).
    wait_for("the click to reach analytics", lambda: int(((edge.call(
        "GET", f"/v1/{campaign}/report", missing_ok=True) or {}).get("totals") or {}).get("clicked", 0)) > 0, timeout)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    answer = edge.call("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": [{
        "eventId": f"order-{uuid.uuid4().hex[:12]}", "type": "purchase",
        "profile": f"workspaces/{ws}/profiles/{profile}", "eventTime": now,
        "value": {"currencyCode": "EUR", "units": "49", "nanos": 900000000},
        "properties": [{"key": "sku", "stringValue": "SPRING-TEE"}]}]})
    print(f"  accepted {answer.get('accepted', 0)}, duplicates {answer.get('duplicates', 0)}")


def report(edge: Edge, campaign: str, expected: dict[str, int], timeout: float) -> dict:
    """The campaign's report once the analytics service has counted what the demo did."""
    step("the campaign's report (analytics service)")
    path = f"/v1/{campaign}/report"
    print(f"  curl {edge.base}{path}")

    def counted():
        body = edge.call("GET", path, missing_ok=True)
        totals = (body or {}).get("totals", {})
        return body if all(int(totals.get(k, 0)) >= v for k, v in expected.items()) else None

    body = wait_for("the report to count the campaign", counted, timeout)
    print(table(body))
    return body


def table(body: dict) -> str:
    rows = [("variant", *REPORT_COLUMNS)]
    for v in sorted(body.get("variants", []), key=lambda v: v.get("variant", "")):
        rows.append((v.get("variant") or "-", *(str(int(v["metrics"].get(k, 0))) for k in REPORT_COLUMNS)))
    rows.append(("total", *(str(int(body.get("totals", {}).get(k, 0))) for k in REPORT_COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                                       enumerate(zip(row, widths))) for row in rows)


def unsubscribe(edge: Edge, ws: str, link: str) -> None:
    step("one recipient clicks unsubscribe (RFC 8058 one-click POST to the List-Unsubscribe link)")
    path = link[link.index("/v1/"):]
    entry = edge.call("POST", path, raw=b"List-Unsubscribe=One-Click",
                      content_type="application/x-www-form-urlencoded")
    print(f"  suppression {entry['name']}: {entry.get('profile')} on {entry.get('channel')} ({entry['reason']})")
    profile = entry.get("profile", "")
    check = edge.call("POST", f"/v1/workspaces/{ws}/profiles:checkReachability",
                      {"channel": "CHANNEL_EMAIL", "profiles": [profile]})
    result = check["results"][0]
    print(f"  reachable on email now? {result.get('reachable', False)} ({result.get('reason', '')})")


def _dev_token(env, workspace: str) -> str:
    """An admin JWT for the workspace from `make run`'s development key (edge/dev_tokens.py)."""
    from edge import dev_tokens
    from edge.settings import load_edge_settings
    from svc_kit.config import state_dir

    folder = state_dir(env)
    if not (folder / dev_tokens.AUTH_DIR / dev_tokens.KEYS["ES256"][0]).is_file():
        raise SystemExit(f"demo: no development key in {folder / dev_tokens.AUTH_DIR}; start `make run` first "
                         "or give --token")
    settings = load_edge_settings(env)
    return dev_tokens.mint(folder, {workspace: "admin"}, subject="make-demo", ttl=3600,
                           issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--edge", default=f"http://127.0.0.1:{EnvReader(env).port('MKT_EDGE_PORT', 8080)}")
    parser.add_argument("--workspace", default=f"demo-{time.strftime('%H%M%S')}")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--lead", type=float, default=5.0,
                        help="seconds ahead the campaign is scheduled; the scheduler starts it then")
    parser.add_argument("--smtp-store", type=Path, default=smtp_sink.default_store(env),
                        help="the SMTP sink's store (default: the one `make run` uses)")
    parser.add_argument("--read-time", type=float, default=11.0,
                        help="seconds the recipients take before they open and click (analytics counts opens and "
                             "clicks within 10 s of the send as a scanner's)")
    parser.add_argument("--callback-secret", default=None,
                        help="the secret `default-smtp`'s delivery webhook is signed with (default: "
                             f"{smtp_sink.CALLBACK_SECRET_VARIABLE}, else the one `make run` keeps)")
    parser.add_argument("--token", default=env.get("TOKEN", ""),
                        help="a JWT or mk_ key for the workspace (default: $TOKEN, else an admin token signed by "
                             "the development key of `make run`)")
    args = parser.parse_args(argv)
    secret = args.callback_secret or callback_secret(env)
    edge = Edge(args.edge, args.token or _dev_token(env, args.workspace))
    segment, template = setup(edge, args.workspace)
    campaign = launch(edge, args.workspace, segment, template, args.timeout, args.lead)
    expected = sum(1 for _, _, ltv in PEOPLE if ltv >= 100)
    messages = delivered(args.smtp_store, args.workspace, expected, args.timeout)
    click, link, pixels = show(messages)
    report_delivery(edge, args.workspace, messages, secret)
    time.sleep(args.read_time)
    open_emails(pixels)
    buyer = follow_click(click) if click else ""
    if buyer:
        purchase(edge, args.workspace, campaign, buyer, args.timeout)
    unsubscribe(edge, args.workspace, link)
    report(edge, campaign, {"delivered": expected, "opened": 1, "clicked": 1 if buyer else 0,
                            "converted": 1 if buyer else 0, "unsubscribed": 1}, args.timeout)
    print("\ndemo: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
