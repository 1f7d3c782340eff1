"""The audit log through the real edge: an API key's creation (integrations, written at once)
and a campaign's update (campaign's outbox -> bus -> integrations' inbox) are listed per
workspace with principal, action, resource, etags and source address; only admins read it."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

KEYS = "marketing.integrations.v1.IntegrationsService"
CAMPAIGNS = "marketing.campaign.v1.CampaignService"


def eventually(probe, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def test_key_creation_and_campaign_update_are_audited_and_only_admins_list_them(running):
    ws = f"audit-{uuid.uuid4().hex[:8]}"
    admin = running.platform.dev_token({ws: "admin"}, subject="auditor@example.com")
    # A client cannot choose the recorded address: the edge overwrites the header and trusts no
    # X-Forwarded-For of the client's own.
    key = running.rest.call("POST", f"/v1/workspaces/{ws}/apiKeys", {"role": "ROLE_EDITOR", "displayName": "crm"},
                            token=admin, headers={"x-mkt-client-address": "203.0.113.9",
                                                  "x-forwarded-for": "198.51.100.1"})
    assert key.status == 200, key.body
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {"displayName": "Spring sale"},
                                token=admin)
    assert created.status == 200, created.body
    updated = running.rest.call("PATCH", f"/v1/{created.body['name']}?updateMask=description",
                                dict(created.body, description="Twenty percent off"), token=admin)
    assert updated.status == 200, updated.body
    stale = running.rest.call("PATCH", f"/v1/{created.body['name']}?updateMask=description",
                              dict(created.body, description="lost update"), token=admin)
    assert stale.status == 409

    listing = f"/v1/workspaces/{ws}/auditEntries"

    def entries(query: str = ""):
        response = running.rest.call("GET", listing + query, token=admin)
        assert response.status == 200, response.body
        return response.body.get("auditEntries", [])

    # The campaign's records travel through its outbox and the bus: wait for the last one.
    eventually(lambda: any(e["status"] == "ABORTED"
                           for e in entries()), "the refused (stale etag) update in the audit log")
    found = entries()
    by_action = {}
    for entry in found:
        by_action.setdefault(entry["action"].rsplit("/", 1)[1], []).append(entry)

    [key_entry] = by_action["CreateApiKey"]
    assert key_entry["principal"] == "auditor@example.com" and key_entry["via"] == "jwt"
    assert key_entry["resource"] == key.body["name"] and key_entry["status"] == "OK"
    assert key_entry["sourceAddress"] == "127.0.0.1"
    assert key_entry["name"].startswith(f"workspaces/{ws}/auditEntries/")
    assert key.body["key"] not in str(found)  # the secret is never recorded

    ok_update = next(e for e in by_action["UpdateCampaign"] if e["status"] == "OK")
    assert ok_update["action"] == f"{CAMPAIGNS}/UpdateCampaign"
    assert ok_update["resource"] == created.body["name"]
    assert ok_update["etagBefore"] == created.body["etag"]
    assert ok_update["etagAfter"] == updated.body["etag"] != created.body["etag"]
    assert ok_update["principal"] == "auditor@example.com" and ok_update["sourceAddress"] == "127.0.0.1"
    [create_entry] = by_action["CreateCampaign"]
    assert create_entry["resource"] == created.body["name"] and create_entry["etagAfter"] == created.body["etag"]

    # Newest first, and the filters narrow the list.
    times = [e["time"] for e in found]
    assert times == sorted(times, reverse=True)
    assert {e["action"] for e in entries("?action=CreateApiKey")} == {f"{KEYS}/CreateApiKey"}
    prefix = quote(created.body["name"], safe="")
    assert {e["resource"] for e in entries(f"?resourcePrefix={prefix}")} == {created.body["name"]}
    assert entries("?principal=someone-else@example.com") == []
    assert entries("?endTime=2000-01-01T00:00:00Z") == []
    page = running.rest.call("GET", listing + "?pageSize=1", token=admin).body
    assert len(page["auditEntries"]) == 1 and page["nextPageToken"]

    bad = running.rest.call("GET", listing + "?startTime=2030-01-01T00:00:00Z&endTime=2020-01-01T00:00:00Z",
                            token=admin)
    assert bad.status == 400, bad.body
    assert bad.body["details"][-1]["fieldViolations"][0]["field"] == "end_time"

    viewer = running.platform.dev_token({ws: "viewer"})
    refused = running.rest.call("GET", listing, token=viewer)
    assert refused.status == 403, refused.body
    assert "integrations.admin" in refused.body["message"]
    editor = running.rest.call("GET", listing, token=running.platform.dev_token({ws: "editor"}))
    assert editor.status == 403


def test_the_audit_log_is_not_writable_through_the_api(running):
    ws = f"audit-{uuid.uuid4().hex[:8]}"
    attempt = running.rest.call("POST", f"/v1/workspaces/{ws}/auditEntries", {"principal": "forged"})
    assert attempt.status in (404, 405), attempt.body
