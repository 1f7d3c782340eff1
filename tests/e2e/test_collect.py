"""Segment-compatible collection through the real edge: sources and write keys, the
official Segment SDKs (Python, and Node from a small script) sending to the edge, the
profiles and events they make read back through audience's and analytics' REST APIs,
the spec's 401 and 400 answers, messageId deduplication and clock-skew correction."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_SCRIPT = Path(__file__).with_name("segment_node_send.mjs")
DEADLINE = 30.0


def workspace() -> str:
    return "c" + uuid.uuid4().hex[:10]


def create_source(running, ws: str, name: str = "website") -> dict:
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/sources", {"displayName": name})
    assert response.status == 200, response.body
    assert response.body["writeKey"].startswith(response.body["writeKeyPrefix"] + "_")
    return response.body


def basic(write_key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def send(running, path: str, body: dict | None = None, write_key: str | None = None, raw: bytes | None = None):
    return running.rest.call("POST", path, body, raw=raw, token=None,
                             headers=basic(write_key) if write_key else None)


def poll(check, what: str, deadline: float = DEADLINE):
    """check() until it returns something truthy, or fail after the deadline."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what}: not seen within {deadline}s (last: {last!r})")


def profile(running, ws: str, external_id: str) -> dict | None:
    response = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/{external_id}")
    return response.body if response.status == 200 else None


def events(running, ws: str, profile_id: str) -> list[dict]:
    where = quote(f'profile = "{profile_id}"')
    response = running.rest.call("GET", f"/v1/workspaces/{ws}/events?filter={where}&pageSize=100")
    assert response.status == 200, response.body
    return response.body["events"]


def properties(event: dict) -> dict:
    out = {}
    for attribute in event["properties"]:
        value = {k: v for k, v in attribute.items() if k != "key"}
        out[attribute["key"]] = next(iter(value.values())) if value else None
    return out


def attributes(found: dict) -> dict:
    return properties({"properties": found.get("attributes", [])})


def test_the_python_sdk_creates_profiles_and_events_through_the_edge(running):
    from segment.analytics.client import Client

    ws = workspace()
    write_key = create_source(running, ws)["writeKey"]
    errors = []
    client = Client(write_key, host=f"http://127.0.0.1:{running.edge_port}", sync_mode=True,
                    on_error=lambda error, batch: errors.append(error), max_retries=1)
    client.identify("user-1", {"email": "Ada@Example.com", "firstName": "Ada", "plan": "pro", "logins": 3,
                               "address": {"city": "London"}})
    client.track("user-1", "Order Completed", {"revenue": 42.5, "sku": "A1"},
                 context={"ip": "203.0.113.9", "library": {"name": "test"}})
    client.page("user-1", "Docs", "Pricing", {"url": "https://example.com/pricing"})
    client.screen("user-1", "App", "Home")
    client.group("user-1", "acme-inc", {"name": "Acme", "employees": 40})
    client.flush()
    zipped = Client(write_key, host=f"http://127.0.0.1:{running.edge_port}", sync_mode=True, gzip=True,
                    on_error=lambda error, batch: errors.append(error), max_retries=1)
    zipped.track("user-1", "Sent Gzipped")
    zipped.flush()
    assert not errors, errors

    found = poll(lambda: profile(running, ws, "user-1"), "the identified profile")
    assert found["email"] == "Ada@Example.com" or found["email"].lower() == "ada@example.com"
    traits = poll(lambda: (a := attributes(profile(running, ws, "user-1") or {})).get("group_id") and a,
                  "the group's attributes")
    assert traits["first_name"] == "Ada" and traits["plan"] == "pro" and int(traits["logins"]) == 3
    assert traits["address_city"] == "London"
    assert traits["group_id"] == "acme-inc" and traits["group_name"] == "Acme"

    seen = poll(lambda: (found := events(running, ws, "user-1")) and len(found) >= 4 and found,
                "the track, page and screen events")
    by_type = {event["type"]: event for event in seen}
    assert set(by_type) == {"order_completed", "page_viewed", "screen_viewed", "sent_gzipped"}, by_type.keys()
    track = properties(by_type["order_completed"])
    assert track["event"] == "Order Completed" and track["sku"] == "A1" and float(track["revenue"]) == 42.5
    assert json.loads(track["context"])["ip"] == "203.0.113.9"
    assert by_type["order_completed"]["source"].startswith("segment:")
    assert properties(by_type["page_viewed"])["name"] == "Pricing"
    assert properties(by_type["page_viewed"])["category"] == "Docs"


def test_wrong_missing_and_revoked_write_keys_are_401(running):
    ws = workspace()
    source = create_source(running, ws)
    call = {"userId": "u1", "event": "Signed Up"}
    assert send(running, "/v1/track", call).status == 401
    response = send(running, "/v1/track", call, write_key=source["writeKeyPrefix"] + "_" + "x" * 43)
    assert response.status == 401 and response.body["code"] == 16, response.body
    assert send(running, "/v1/track", call, write_key="not-a-key").status == 401
    assert send(running, "/v1/track", call, write_key=source["writeKey"]).status == 200
    # The body's writeKey, as Segment accepts it.
    response = send(running, "/v1/track", {**call, "writeKey": source["writeKey"]})
    assert response.status == 200 and response.body == {"success": True}, response.body
    revoked = running.rest.call("POST", f"/v1/{source['name']}:revoke", {})
    assert revoked.status == 200 and revoked.body["revokeTime"]
    assert send(running, "/v1/track", call, write_key=source["writeKey"]).status == 401
    listed = running.rest.call("GET", f"/v1/workspaces/{ws}/sources").body["sources"]
    assert [s["name"] for s in listed] == [source["name"]] and listed[0]["writeKey"] == ""


def test_oversized_and_malformed_calls_are_400(running):
    ws = workspace()
    key = create_source(running, ws)["writeKey"]
    big = {"userId": "u1", "event": "Big", "properties": {"blob": "x" * (33 * 1024)}}
    response = send(running, "/v1/track", big, write_key=key)
    assert response.status == 400 and response.body["code"] == 3, response.body
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": "x" * 30_000}}
                       for _ in range(18)]}
    assert send(running, "/v1/batch", batch, write_key=key).status == 400
    one_big = {"batch": [{"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": "x" * 40_000}}]}
    assert send(running, "/v1/batch", one_big, write_key=key).status == 400
    assert send(running, "/v1/track", raw=b"{not json", write_key=key).status == 400
    assert send(running, "/v1/track", {"event": "No one"}, write_key=key).status == 400
    assert send(running, "/v1/track", {"userId": "u1"}, write_key=key).status == 400
    assert events(running, ws, "u1") == []


def test_a_repeated_message_id_changes_nothing_and_clock_skew_is_corrected(running):
    ws = workspace()
    key = create_source(running, ws)["writeKey"]
    # The client's clock is an hour ahead: sentAt - timestamp (5 minutes) is what counts.
    client_now = datetime.now(UTC) + timedelta(hours=1)
    call = {"type": "track", "userId": "u2", "event": "Clicked", "messageId": "m-1",
            "timestamp": (client_now - timedelta(minutes=5)).isoformat(), "properties": {"try": 1}}
    body = {"batch": [call], "sentAt": client_now.isoformat()}
    assert send(running, "/v1/batch", body, write_key=key).status == 200
    again = {"batch": [{**call, "properties": {"try": 2}}], "sentAt": client_now.isoformat()}
    response = send(running, "/v1/batch", again, write_key=key)
    assert response.status == 200 and response.body == {"success": True}
    # A marker sent after the duplicate: once it is stored, a stored duplicate would be too.
    marker = {"batch": [{**call, "messageId": "m-2", "event": "Marker"}], "sentAt": client_now.isoformat()}
    assert send(running, "/v1/batch", marker, write_key=key).status == 200
    found = poll(lambda: (found := events(running, ws, "u2")) and any(e["type"] == "marker" for e in found) and found,
                 "the marker event")
    found = [event for event in found if event["type"] == "clicked"]
    assert len(found) == 1 and int(properties(found[0])["try"]) == 1
    event_time = datetime.fromisoformat(found[0]["eventTime"].replace("Z", "+00:00"))
    expected = datetime.now(UTC) - timedelta(minutes=5)
    assert abs((event_time - expected).total_seconds()) < 60, (event_time, expected)
    assert properties(found[0])["original_timestamp"].startswith(call["timestamp"][:16])


def test_alias_and_anonymous_identify(running):
    ws = workspace()
    key = create_source(running, ws)["writeKey"]
    assert send(running, "/v1/identify", {"anonymousId": "anon-7", "traits": {"favouriteColour": "teal"}},
                write_key=key).status == 200
    assert attributes(poll(lambda: profile(running, ws, "anon-7"), "the anonymous profile"))[
        "favourite_colour"] == "teal"
    assert send(running, "/v1/alias", {"userId": "user-7", "previousId": "anon-7"}, write_key=key).status == 200
    assert attributes(poll(lambda: profile(running, ws, "user-7"), "the aliased profile"))["previous_id"] == "anon-7"


def test_mkt_sources_create_prints_only_the_write_key(running):
    ws = workspace()
    env = {**os.environ, "MKT_STATE_DIR": str(running.platform.state_dir)}
    result = subprocess.run([sys.executable, "-m", "mkt", "sources", "create", "--workspace", ws, "--name", "cli",
                             "--edge", f"127.0.0.1:{running.edge_port}"], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    write_key = result.stdout.strip()
    assert write_key.startswith("wk_") and "\n" not in write_key and "created" in result.stderr
    assert send(running, "/v1/identify", {"userId": "cli-user", "traits": {"plan": "free"}},
                write_key=write_key).status == 200
    listing = subprocess.run([sys.executable, "-m", "mkt", "sources", "list", "--workspace", ws,
                              "--edge", f"127.0.0.1:{running.edge_port}"], capture_output=True, text=True,
                             env=env, cwd=REPO, timeout=60)
    assert listing.returncode == 0 and write_key[:15] in listing.stdout and write_key not in listing.stdout


def test_the_node_sdk_sends_through_the_edge(running):
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "@segment" / "analytics-node").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("node and @segment/analytics-node are needed (npm install)")
        pytest.skip("node or @segment/analytics-node is missing (npm install)")
    ws = workspace()
    key = create_source(running, ws, "node")["writeKey"]
    result = subprocess.run([node, str(NODE_SCRIPT), f"http://127.0.0.1:{running.edge_port}", key, "node-user"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    found = poll(lambda: profile(running, ws, "node-user"), "the node SDK's profile")
    assert found["email"].lower() == "node@example.com"
    seen = poll(lambda: events(running, ws, "node-user"), "the node SDK's event")
    assert seen[0]["type"] == "item_purchased" and properties(seen[0])["price"] in (9.5, "9.5")


def test_viewers_list_sources_and_only_admins_create_or_revoke_them(running):
    ws = workspace()
    source = create_source(running, ws)
    keys = {}
    for role in ("viewer", "editor"):
        response = running.rest.call("POST", f"/v1/workspaces/{ws}/apiKeys", {"role": f"ROLE_{role.upper()}"})
        assert response.status == 200, response.body
        keys[role] = response.body["key"]
    listed = running.rest.call("GET", f"/v1/workspaces/{ws}/sources", token=keys["viewer"])
    assert listed.status == 200 and [s["name"] for s in listed.body["sources"]] == [source["name"]]
    assert running.rest.call("GET", f"/v1/{source['name']}", token=keys["viewer"]).body["writeKey"] == ""
    for role in ("viewer", "editor"):
        refused = running.rest.call("POST", f"/v1/workspaces/{ws}/sources", {"displayName": "x"}, token=keys[role])
        assert refused.status == 403 and "integrations.admin" in refused.body["message"], refused.body
        assert running.rest.call("POST", f"/v1/{source['name']}:revoke", {}, token=keys[role]).status == 403
    other = workspace()
    assert running.rest.call("GET", f"/v1/workspaces/{other}/sources/{source['name'].rsplit('/', 1)[1]}"
                             ).status == 404
