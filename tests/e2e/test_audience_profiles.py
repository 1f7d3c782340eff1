"""Profiles through the REST edge, stored on the embedded MongoDB-wire server."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def upsert(rest, workspace: str, external_id: str, profile: dict, **extra):
    return rest.call("POST", f"/v1/workspaces/{workspace}/profiles/{external_id}:upsert",
                     {"profile": profile, **extra})


def test_upsert_merges_and_get_reads_back(running):
    ws = f"aud-{uuid.uuid4().hex[:8]}"
    first = upsert(running.rest, ws, "u-1", {
        "email": "Ann@Example.com",
        "attributes": [{"key": "ltv", "doubleValue": 120.5}, {"key": "plan", "stringValue": "pro"}],
        "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED", "source": "signup-form"}],
    })
    assert first.status == 200, first.body
    assert first.body["created"] is True
    assert first.body["profile"]["email"] == "ann@example.com"
    second = upsert(running.rest, ws, "u-1", {"phone": "+33612345678",
                                              "attributes": [{"key": "visits", "intValue": "3"}]})
    assert second.status == 200, second.body
    assert second.body["created"] is False
    profile = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-1").body
    assert profile["email"] == "ann@example.com" and profile["phone"] == "+33612345678"
    assert {a["key"] for a in profile["attributes"]} == {"ltv", "plan", "visits"}
    assert profile["consents"][0]["status"] == "STATUS_GRANTED"
    assert running.rest.call("GET", "/v1/workspaces/other/profiles/u-1").status == 404


def test_bad_email_phone_and_attribute_types_name_the_field(running):
    ws = f"aud-{uuid.uuid4().hex[:8]}"
    assert upsert(running.rest, ws, "u-1", {"attributes": [{"key": "ltv", "doubleValue": 1.0}]}).status == 200
    cases = [({"email": "not-an-email"}, "profile.email"),
             ({"phone": "0612"}, "profile.phone"),
             ({"attributes": [{"key": "ltv", "stringValue": "high"}]}, "profile.attributes['ltv']"),
             ({"attributes": [{"key": "empty"}]}, "profile.attributes[0]")]
    for profile, field in cases:
        response = upsert(running.rest, ws, "u-1", profile)
        assert response.status == 400, (profile, response.body)
        assert response.body["details"][-1]["fieldViolations"][0]["field"] == field


def test_list_pages_and_erasure(running):
    ws = f"aud-{uuid.uuid4().hex[:8]}"
    for i in range(5):
        assert upsert(running.rest, ws, f"u-{i}", {"email": f"p{i}@example.com"}).status == 200
    seen, token = [], ""
    while True:
        query = f"?pageSize=2&pageToken={token}" if token else "?pageSize=2"
        page = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles{query}").body
        seen += [p["name"].rsplit("/", 1)[1] for p in page["profiles"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert seen == [f"u-{i}" for i in range(5)]
    assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/u-2").status == 200
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-2").status == 404
    assert running.rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/u-2").status == 404


def test_create_refuses_a_taken_id_and_update_masks(running):
    ws = f"aud-{uuid.uuid4().hex[:8]}"
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/profiles?profileId=u-1",
                                {"email": "a@example.com", "locale": "fr-FR"})
    assert created.status == 200, created.body
    again = running.rest.call("POST", f"/v1/workspaces/{ws}/profiles?profileId=u-1", {"email": "b@example.com"})
    assert again.status == 409
    updated = running.rest.call("PATCH", f"/v1/workspaces/{ws}/profiles/u-1?updateMask=locale",
                                {"locale": "", "email": "ignored@example.com", "etag": created.body["etag"]})
    assert updated.status == 200, updated.body
    assert updated.body["locale"] == "" and updated.body["email"] == "a@example.com"
    stale = running.rest.call("PATCH", f"/v1/workspaces/{ws}/profiles/u-1?updateMask=locale",
                              {"locale": "de-DE", "etag": created.body["etag"]})
    assert stale.status == 409
