"""Connections and syncs on the running platform, through the REST edge: a connection to the
local generic HTTP endpoint (devstack/platforms/generic_http.py) checked with good and wrong
credentials, a segment of the audience service synced to it in full, then incrementally after
profiles leave and enter it; credentials appear in no answer and not in clear in the database."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from devstack.platforms.generic_http import GenericHttpServer

pytestmark = pytest.mark.e2e

TOKEN = "s3cret-bearer-" + uuid.uuid4().hex


def upsert(rest, ws, external_id, ltv, email=None):
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert",
                         {"profile": {"email": email or f"{external_id}@example.com",
                                      "attributes": [{"key": "ltv", "doubleValue": ltv}]}})
    assert response.status == 200, response.body


def eventually(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run_to_end(rest, sync: str, **body) -> dict:
    started = rest.call("POST", f"/v1/{sync}:run", body)
    assert started.status == 200, started.body
    name = started.body["name"]

    def ended():
        run = rest.call("GET", f"/v1/{name}").body
        return run if run["state"] in ("STATE_SUCCEEDED", "STATE_FAILED", "STATE_CANCELLED") else None

    return eventually(ended, f"{name} to end")


def no_secret(body) -> None:
    dumped = json.dumps(body)
    assert TOKEN not in dumped and "wrong-token" not in dumped
    assert not (body.get("credentials") if isinstance(body, dict) else None)  # INPUT_ONLY: always empty


def database(running):
    url = running.platform.env.get("MKT_INTEGRATIONS_DATABASE_URL") or \
        f"sqlite:///{running.platform.state_dir / 'integrations.sqlite3'}"
    return create_engine(url)


@pytest.fixture
def endpoint():
    with GenericHttpServer(auth="bearer", token=TOKEN) as server:
        yield server


def test_a_segment_syncs_to_the_generic_http_endpoint_with_adds_and_removes(running, endpoint):
    rest = running.rest
    ws = f"syn-{uuid.uuid4().hex[:8]}"
    listed = rest.call("GET", f"/v1/workspaces/{ws}/connectors")
    assert listed.status == 200 and "http" in [c["name"].rsplit("/", 1)[1] for c in listed.body["connectors"]]
    spec = rest.call("GET", f"/v1/workspaces/{ws}/connectors/http").body
    assert spec["category"] == "CATEGORY_WEBHOOK" and "url" in [p["key"] for p in spec["parameters"]]

    created = rest.call("POST", f"/v1/workspaces/{ws}/connections?connectionId=endpoint", {
        "displayName": "Endpoint", "connector": f"workspaces/{ws}/connectors/http",
        "parameters": {"url": endpoint.url, "auth": "bearer", "batch_size": "2"},
        "credentials": {"token": "wrong-token"}})
    assert created.status == 200, created.body
    no_secret(created.body)
    assert created.body["state"] == "STATE_PENDING"
    connection = created.body["name"]

    # A wrong token fails the check with the endpoint's own reason.
    failed = rest.call("POST", f"/v1/{connection}:test", {})
    assert failed.status == 200, failed.body
    assert failed.body["state"] == "STATE_ERROR" and "invalid credentials" in failed.body["stateMessage"]
    fixed = rest.call("PATCH", f"/v1/{connection}?updateMask=credentials",
                      {"credentials": {"token": TOKEN}})
    assert fixed.status == 200, fixed.body
    no_secret(fixed.body)
    checked = rest.call("POST", f"/v1/{connection}:test", {})
    assert checked.body["state"] == "STATE_ACTIVE", checked.body
    for answer in (rest.call("GET", f"/v1/{connection}").body,
                   rest.call("GET", f"/v1/workspaces/{ws}/connections").body):
        no_secret(answer)

    # The database holds the credentials only encrypted.
    engine = database(running)
    try:
        with engine.connect() as db:
            row = db.execute(text("SELECT * FROM connections WHERE workspace = :w"), {"w": ws}).mappings().one()
    finally:
        engine.dispose()
    assert row["credentials_ciphertext"] and TOKEN not in json.dumps({k: str(v) for k, v in row.items()})

    upsert(rest, ws, "a", 300)
    upsert(rest, ws, "b", 200)
    upsert(rest, ws, "c", 10)
    upsert(rest, ws, "r", 500, email="r@refused.test")  # the endpoint refuses this row
    segment = rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=big", {
        "displayName": "Big", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 100})})
    assert segment.status == 200, segment.body
    eventually(lambda: rest.call("POST", f"/v1/workspaces/{ws}/segments/big:countMembers", {}).body["count"] == "3",
               "the segment to hold a, b and r")

    bad = rest.call("POST", f"/v1/{connection}/syncs", {
        "displayName": "x", "direction": "SYNC_DIRECTION_EXPORT", "object": "SYNC_OBJECT_SEGMENT_MEMBERS",
        "segment": f"workspaces/{ws}/segments/big", "remoteObject": "aud", "schedule": "at noon"})
    assert bad.status == 400 and "schedule" in json.dumps(bad.body)
    sync = rest.call("POST", f"/v1/{connection}/syncs?syncId=big-to-endpoint", {
        "displayName": "Big spenders", "direction": "SYNC_DIRECTION_EXPORT",
        "object": "SYNC_OBJECT_SEGMENT_MEMBERS", "segment": f"workspaces/{ws}/segments/big",
        "remoteObject": f"{ws}-big", "schedule": "every 15m"})
    assert sync.status == 200, sync.body
    assert sync.body["state"] == "STATE_ACTIVE" and sync.body["nextRunTime"]
    name = sync.body["name"]

    first = run_to_end(rest, name)
    assert first["state"] == "STATE_SUCCEEDED", first
    assert first["progress"]["done"] == first["progress"]["total"] == "3"
    assert first["addedCount"] == "2" and first["progress"]["failed"] == "1"
    assert first["recordErrors"][0]["recordId"] == "r" and "does not accept" in first["recordErrors"][0]["reason"]
    assert endpoint.members(f"{ws}-big") == {"a", "b"}
    assert any(batch.get("replace") for batch in endpoint.batches())
    sent = [row for batch in endpoint.batches() for row in batch["add"]]
    assert {"id": "a", "email": "a@example.com"}.items() <= sent[0].items() or \
        any(row.get("email") == "a@example.com" for row in sent)

    # b leaves, c enters: the very next run sends those changes, whether or not the audience's
    # upkeep has announced them yet (the run diffs the live membership against what the endpoint
    # took); r, refused by the endpoint, is tried again.
    before = len(endpoint.batches())
    upsert(rest, ws, "b", 5)
    upsert(rest, ws, "c", 400)
    second = run_to_end(rest, name)
    assert second["state"] == "STATE_SUCCEEDED", second
    assert endpoint.members(f"{ws}-big") == {"a", "c"}
    assert (second["addedCount"], second["removedCount"], second["progress"]["failed"],
            second["progress"]["total"]) == ("1", "1", "1", "3"), second
    later = endpoint.batches()[before:]
    assert not any(batch.get("replace") for batch in later), "incremental runs never replace"
    assert "c" in {row["id"] for batch in later for row in batch["add"]}
    assert "b" in {row["id"] for batch in later for row in batch["remove"]}
    runs = rest.call("GET", f"/v1/{name}/runs").body["syncRuns"]
    assert len(runs) >= 2 and all(r["trigger"] == "TRIGGER_MANUAL" for r in runs)

    paused = rest.call("POST", f"/v1/{name}:pause", {})
    assert paused.body["state"] == "STATE_PAUSED"
    refused = rest.call("POST", f"/v1/{name}:run", {})
    assert refused.status == 400 and "paused" in json.dumps(refused.body), refused.body
    assert rest.call("POST", f"/v1/{name}:resume", {}).body["state"] == "STATE_ACTIVE"

    assert rest.call("DELETE", f"/v1/{connection}").status == 200  # with its syncs
    assert rest.call("GET", f"/v1/{name}").status == 404

    # No log line of any process carries the credentials.
    logs = running.platform.state_dir / "logs"
    for path in logs.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


def test_bad_connection_input_is_refused_with_field_violations(running):
    rest = running.rest
    ws = f"syb-{uuid.uuid4().hex[:8]}"
    answer = rest.call("POST", f"/v1/workspaces/{ws}/connections", {
        "displayName": "", "connector": f"workspaces/{ws}/connectors/nope", "parameters": {}})
    assert answer.status == 400, answer.body
    answer = rest.call("POST", f"/v1/workspaces/{ws}/connections", {
        "displayName": "E", "connector": f"workspaces/{ws}/connectors/http",
        "parameters": {"method": "GET", "color": "red"}, "credentials": {"password2": "x"}})
    assert answer.status == 400, answer.body
    text_body = json.dumps(answer.body)
    for fragment in ("parameters[url]", "parameters[method]", "parameters[color]", "credentials[password2]"):
        assert fragment in text_body, fragment
    assert rest.call("GET", f"/v1/workspaces/{ws}/connections/missing").status == 404
    assert rest.call("GET", f"/v1/workspaces/{ws}/connectors/missing").status == 404
