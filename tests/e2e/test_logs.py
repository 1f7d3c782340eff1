"""Logs correlated by trace: the platform's JSON log lines, shipped to a real VictoriaLogs by the
platform's log shipper (devstack/logship.py, what MKT_LOGS_URL turns on), come back by trace id from
at least three services after one call through the edge with a known `traceparent`: the campaign
service's "campaign started" (in the call's span), the content service's copy of the campaign and the
analytics service's stored event (both consumers of the campaign's event, in its trace). The same
lines are in the platform's log files, which is how to find them without VictoriaLogs."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e
MIN_SERVICES = {"campaign", "content", "analytics"}  # and the edge's access log line


def ok(response):
    assert response.status == 200, response.body
    return response.body


def scheduled_campaign(rest, ws: str) -> str:
    """A scheduled campaign of workspace `ws` sending one published template to one segment."""
    ok(rest.call("POST", f"/v1/workspaces/{ws}/profiles/p1:upsert", {"profile": {
        "email": "p1@example.com", "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}}))
    segment = ok(rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=all", {
        "displayName": "All", "definition": json.dumps({"attribute": "email", "op": "exists"})}))
    template = ok(rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=welcome", {
        "displayName": "Welcome", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Welcome", "html": "<p>Hi</p>", "text": "Hi"}}}))
    ok(rest.call("POST", f"/v1/{template['name']}:publish", {}))
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    campaign = ok(rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Logged", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment["name"]],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template["name"]}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}}))
    ok(rest.call("POST", f"/v1/{campaign['name']}:schedule", {}))
    return campaign["name"]


def lines_in_files(logs_dir, trace_id: str) -> list[dict]:
    """`grep -h <id> .state/logs/*.log`, in Python."""
    found = []
    for path in sorted(logs_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if trace_id in line:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                found.append({"service": path.stem, **entry})  # the edge's access log: its file names it
    return found


def test_one_calls_log_lines_come_back_by_trace_id_from_three_services(running, victorialogs_server):
    running.platform.ship_logs(victorialogs_server.url)
    rest = running.rest
    name = scheduled_campaign(rest, f"logs-{uuid.uuid4().hex[:8]}")
    trace_id = uuid.uuid4().hex
    ok(rest.call("POST", f"/v1/{name}:start", {}, headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"}))

    deadline = time.monotonic() + 60
    while True:
        lines = victorialogs_server.query(f"trace_id:{trace_id}")
        services = {line.get("service") for line in lines}
        if MIN_SERVICES | {"edge"} <= services:
            break
        assert time.monotonic() < deadline, (f"lines of trace {trace_id} from {sorted(map(str, services))} only; "
                                             f"shipper: {running.platform.shipper.__dict__}")
        time.sleep(0.5)

    assert all(line["trace_id"] == trace_id and len(line["span_id"]) == 16 for line in lines), lines
    campaign_id = name.rsplit("/", 1)[1]
    by_service = {}
    for line in lines:
        by_service.setdefault(line["service"], []).append(line)
    assert any(line["_msg"] == "campaign started" and line["campaign"] == campaign_id
               for line in by_service["campaign"]), by_service["campaign"]
    assert any(line["_msg"] == "campaign copy now RUNNING" for line in by_service["content"]), by_service["content"]
    assert any(line["_msg"].endswith("stored campaign_started") for line in by_service["analytics"]), \
        by_service["analytics"]

    # The edge's access log line of the call, with the trace of its traceparent header.
    assert any(line["_msg"] == f"POST /v1/{name}:start 200 OK" for line in by_service["edge"]), by_service["edge"]

    # Without VictoriaLogs: the same lines are in the log files (docs/observability.md, "Logs").
    in_files = lines_in_files(running.platform.state_dir / "logs", trace_id)
    assert MIN_SERVICES <= {line["service"] for line in in_files}
