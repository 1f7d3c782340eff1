"""Segment-compatible collection with the local mesh on: the edge reaches the integrations
service through its sidecar, and the collector reaches audience (UpsertProfile) and
analytics (IngestEvents) through theirs, as mesh/policy.yaml grants it."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e


def _until(check, what: str, deadline: float = 30.0):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"{what}: not seen within {deadline}s (last: {last!r})")


def test_segment_calls_reach_audience_and_analytics_through_the_mesh(running):
    created = running.rest.call("POST", "/v1/workspaces/meshcollect/sources", {"displayName": "site"})
    assert created.status == 200, created.body
    basic = {"authorization": "Basic " + base64.b64encode(f"{created.body['writeKey']}:".encode()).decode()}
    batch = {"batch": [
        {"type": "identify", "userId": "mesh-user", "traits": {"email": "mesh@example.com", "plan": "pro"}},
        {"type": "track", "userId": "mesh-user", "event": "Mesh Checked", "properties": {"ok": True}}]}
    response = running.rest.call("POST", "/v1/batch", batch, token=None, headers=basic)
    assert response.status == 200 and response.body == {"success": True}, response.body
    profile = running.rest.call("GET", "/v1/workspaces/meshcollect/profiles/mesh-user")
    assert profile.status == 200 and profile.body["email"] == "mesh@example.com", profile.body
    where = quote('profile = "mesh-user"')
    found = _until(lambda: running.rest.call("GET", f"/v1/workspaces/meshcollect/events?filter={where}").body
                   .get("events"), "the event")
    assert found[0]["type"] == "mesh_checked"
    assert running.rest.call("POST", "/v1/batch", batch, token=None,
                             headers={"authorization": "Basic d2tfbm9wZTo="}).status == 401
