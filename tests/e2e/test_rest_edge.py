"""The checks a user makes through http://127.0.0.1:8080, against the real
Envoy edge and the real services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e

BASE = "/v1/workspaces/acme/campaigns"


def spring_sale(sms_units: str = "200") -> dict:
    return {
        "displayName": "Spring sale",
        "channels": ["CHANNEL_EMAIL", "CHANNEL_SMS"],
        "budget": {
            "total": {"currencyCode": "EUR", "units": "1000"},
            "allocations": [
                {"channel": "CHANNEL_EMAIL", "amount": {"currencyCode": "EUR", "units": "800"}},
                {"channel": "CHANNEL_SMS", "amount": {"currencyCode": "EUR", "units": sms_units}},
            ],
        },
    }


def create(rest, body=None, workspace="acme"):
    response = rest.call("POST", f"/v1/workspaces/{workspace}/campaigns", body or spring_sale())
    assert response.status == 200, response.body
    return response.body


def test_create_returns_name_and_etag_and_get_reads_it_back(running):
    created = create(running.rest)
    assert created["name"].startswith("workspaces/acme/campaigns/")
    assert created["etag"]
    assert created["state"] == "STATE_DRAFT"
    assert created["budget"]["total"] == {"currencyCode": "EUR", "units": "1000", "nanos": 0}
    got = running.rest.call("GET", f"/v1/{created['name']}")
    assert got.status == 200
    assert got.body == created


def test_other_workspace_cannot_see_the_campaign(running):
    created = create(running.rest)
    campaign_id = created["name"].rsplit("/", 1)[1]
    response = running.rest.call("GET", f"/v1/workspaces/other/campaigns/{campaign_id}")
    assert response.status == 404
    assert response.body["code"] == 5
    assert "not found" in response.body["message"]


def test_list_pages_through_more_than_two(running):
    workspace = f"pages-{uuid.uuid4().hex[:8]}"
    made = [create(running.rest, {"displayName": f"c{i}"}, workspace)["name"] for i in range(5)]
    seen, token, pages = [], "", 0
    while True:
        query = f"?pageSize=2&pageToken={token}" if token else "?pageSize=2"
        page = running.rest.call("GET", f"/v1/workspaces/{workspace}/campaigns{query}")
        assert page.status == 200, page.body
        assert len(page.body["campaigns"]) <= 2
        assert page.body["totalSize"] == 5
        seen += [c["name"] for c in page.body["campaigns"]]
        pages += 1
        token = page.body["nextPageToken"]
        if not token:
            break
    assert pages == 3
    assert seen == made


def test_list_filters_on_state_and_label(running):
    workspace = f"filter-{uuid.uuid4().hex[:8]}"
    growth = create(running.rest, {"displayName": "a", "labels": {"team": "growth"}}, workspace)
    create(running.rest, {"displayName": "b", "labels": {"team": "brand"}}, workspace)
    cancelled = create(running.rest, {"displayName": "c", "labels": {"team": "growth"}}, workspace)
    assert running.rest.call("POST", f"/v1/{cancelled['name']}:cancel", {}).status == 200
    from urllib.parse import quote

    query = quote("labels.team = growth AND state = STATE_DRAFT")
    page = running.rest.call("GET", f"/v1/workspaces/{workspace}/campaigns?filter={query}")
    assert page.status == 200, page.body
    assert [c["name"] for c in page.body["campaigns"]] == [growth["name"]]
    bad = running.rest.call("GET", f"/v1/workspaces/{workspace}/campaigns?filter={quote('colour = red')}")
    assert bad.status == 400
    assert bad.body["details"][-1]["fieldViolations"][0]["field"] == "filter"


def test_patch_changes_only_masked_fields_and_stale_etag_conflicts(running):
    created = create(running.rest)
    body = dict(created, description="Twenty percent off", displayName="Renamed but not masked")
    updated = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=description", body)
    assert updated.status == 200, updated.body
    assert updated.body["description"] == "Twenty percent off"
    assert updated.body["displayName"] == "Spring sale"
    assert updated.body["etag"] != created["etag"]
    stale = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=description",
                              dict(created, description="lost update"))
    assert stale.status == 409
    assert "stale" in stale.body["message"]
    assert running.rest.call("GET", f"/v1/{created['name']}").body["description"] == "Twenty percent off"


def test_wrong_state_transitions_answer_400_naming_the_state(running):
    created = create(running.rest)
    paused = running.rest.call("POST", f"/v1/{created['name']}:pause", {})
    assert paused.status == 400
    assert "DRAFT" in paused.body["message"]
    scheduled = running.rest.call("POST", f"/v1/{created['name']}:schedule", {})
    assert scheduled.status == 400
    assert "DRAFT" in scheduled.body["details"][0]["metadata"]["state"]
    assert "target_segments" in scheduled.body["message"]
    failure = next(d for d in scheduled.body["details"] if d["@type"].endswith("PreconditionFailure"))
    assert {v["type"] for v in failure["violations"]} == {"LAUNCH_READINESS"}
    assert "campaign.target_segments" in {v["subject"] for v in failure["violations"]}


def test_full_lifecycle_through_rest(running):
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    body = spring_sale() | {
        "targetSegments": ["workspaces/acme/segments/vip"],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": "workspaces/acme/templates/spring-email"},
                     {"channel": "CHANNEL_SMS", "template": "workspaces/acme/templates/spring-sms"}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"},
    }
    created = create(running.rest, body)
    name = created["name"]
    states = []
    for action in ("schedule", "start", "pause", "resume", "complete"):
        response = running.rest.call("POST", f"/v1/{name}:{action}", {})
        assert response.status == 200, (action, response.body)
        states.append(response.body["state"])
    assert states == ["STATE_SCHEDULED", "STATE_RUNNING", "STATE_PAUSED", "STATE_RUNNING", "STATE_COMPLETED"]
    cancel = running.rest.call("POST", f"/v1/{name}:cancel", {})
    assert cancel.status == 400 and "COMPLETED" in cancel.body["message"]


def test_allocations_over_budget_are_refused_naming_the_field(running):
    response = running.rest.call("POST", BASE, spring_sale(sms_units="400"))
    assert response.status == 400
    violations = response.body["details"][-1]["fieldViolations"]
    assert violations[0]["field"] == "campaign.budget.allocations"
    assert "1200" in violations[0]["description"]
    assert "campaign.budget.allocations" in response.body["message"]


def test_idempotent_create_by_request_id(running):
    key = str(uuid.uuid4())
    first = running.rest.call("POST", f"{BASE}?requestId={key}", spring_sale())
    again = running.rest.call("POST", f"{BASE}?requestId={key}", spring_sale())
    assert first.status == again.status == 200
    assert first.body["name"] == again.body["name"]
    different = running.rest.call("POST", f"{BASE}?requestId={key}", {"displayName": "something else"})
    assert different.status == 400
    assert different.body["details"][-1]["fieldViolations"][0]["field"] == "request_id"


def test_unknown_path_is_404_json(running):
    response = running.rest.call("POST", "/v1/nope", {})
    assert response.status == 404
    assert response.body["code"] == 5
    assert "/v1/nope" in response.body["message"]


def test_broken_json_is_400_json(running):
    response = running.rest.call("POST", BASE, raw=b'{"displayName": ')
    assert response.status == 400
    assert isinstance(response.body, dict), response.body
    assert response.body["code"] == 3


def test_unknown_query_parameter_is_400(running):
    response = running.rest.call("GET", f"{BASE}?colour=red")
    assert response.status == 400


def test_body_over_the_limit_is_413(running):
    response = running.rest.call("POST", BASE, {"displayName": "x", "description": "y" * (2 * 1024 * 1024)})
    assert response.status == 413
    assert response.body["code"] == 3


def test_undecodable_map_value_is_400_not_500(running):
    # Envoy 1.40 forwards {"labels": {"k": {}}} as corrupt protobuf; the service
    # must answer INVALID_ARGUMENT rather than INTERNAL.
    response = running.rest.call("POST", BASE, {"displayName": "x", "labels": {"k": {}}})
    assert response.status == 400, response.body


def test_placeholder_service_answers_unimplemented(running):
    response = running.rest.call("GET", "/v1/workspaces/acme/attributeDefinitions")  # audience: not built yet
    assert response.status == 501, response.body
    assert "not implemented" in response.body["message"]


def test_healthz_reports_edge_and_every_service(running):
    response = running.rest.call("GET", "/healthz")
    assert response.status == 200
    assert response.body["status"] == "SERVING"
    assert response.body["edge"]["status"] == "SERVING"
    assert set(response.body["services"]) == {"campaign", "audience", "content", "analytics", "notify",
                                              "integrations"}
    assert all(s["status"] == "SERVING" for s in response.body["services"].values())


def test_access_log_is_json(running):
    import json

    running.rest.call("GET", "/healthz")
    lines = [line for line in running.platform.children[-1].log_path.read_text().splitlines()
             if line.startswith("{")]
    entry = json.loads(lines[-1])
    assert {"method", "path", "status", "duration_ms"} <= set(entry)


def test_as_of_returns_the_old_values_and_history_lists_every_change(running):
    created = create(running.rest, {"displayName": "Spring sale", "description": "Ten percent off"})
    before_update = running.rest.call("GET", f"/v1/{created['name']}").body["updateTime"]
    updated = running.rest.call("PATCH", f"/v1/{created['name']}?updateMask=description",
                                dict(created, description="Twenty percent off"))
    assert updated.status == 200, updated.body
    old = running.rest.call("GET", f"/v1/{created['name']}?asOf={before_update}")
    assert old.status == 200, old.body
    assert old.body["description"] == "Ten percent off"
    assert old.body["etag"] == created["etag"]
    assert running.rest.call("GET", f"/v1/{created['name']}").body["description"] == "Twenty percent off"
    too_early = running.rest.call("GET", f"/v1/{created['name']}?asOf=2000-01-01T00:00:00Z")
    assert too_early.status == 404
    assert "did not exist at" in too_early.body["message"]
    history = running.rest.call("GET", f"/v1/{created['name']}/events")
    assert history.status == 200, history.body
    assert [(e["type"], e["version"], e["changedPaths"]) for e in history.body["events"]] == [
        ("campaign_created", "1", []), ("campaign_updated", "2", ["description"])]
    assert history.body["events"][1]["campaign"]["description"] == "Twenty percent off"
    other = running.rest.call("GET", f"/v1/{created['name'].replace('acme', 'other')}/events")
    assert other.status == 404
