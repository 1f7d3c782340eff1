"""One campaign launch is one trace, read back from a real Jaeger: a platform on Pulsar (the
`pulsar_server` broker) exports its spans (services over OTLP, the Envoy edge with its OpenTelemetry
tracer) to a Jaeger all-in-one (devstack/servers/jaeger.py). The REST call that starts a campaign is
sent with a W3C traceparent of the test's own; the edge keeps it, so the whole launch must then come
back from Jaeger's query API as that one trace: the edge's span, campaign's StartCampaign, the Pulsar
hop of campaign_started (a PRODUCER span and a CONSUMER span), the launch steps calling audience
(snapshot), content (preflight render) and notify (the messages), and analytics storing the events,
every span's parent chain leading back to the edge's span."""

from __future__ import annotations

import io
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devstack.servers.jaeger import JaegerUnavailable, ThrowawayJaeger
from devstack.servers.platform import Platform, free_platform_ports
from edge.limits import HIGH_LIMITS
from tests.conftest import _unavailable
from tests.e2e.conftest import Rest

pytestmark = pytest.mark.e2e

REQUIRED_SERVICES = {"marketing-edge", "marketing-campaign", "marketing-audience", "marketing-content",
                     "marketing-notify", "marketing-analytics"}
DEADLINE = 120.0


@pytest.fixture(scope="module")
def jaeger() -> Iterator[ThrowawayJaeger]:
    server = ThrowawayJaeger()
    try:
        server.start()
    except JaegerUnavailable as error:
        _unavailable("Jaeger", str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def traced_platform(tmp_path_factory, pulsar_server, jaeger):
    env: dict = free_platform_ports()
    edge_port = env["MKT_EDGE_PORT"]
    env.update(HIGH_LIMITS)
    env.update({
        "MKT_BUS": "pulsar", "MKT_PULSAR_URL": pulsar_server.service_url,
        "MKT_PULSAR_ADMIN_URL": pulsar_server.admin_url,
        # Topics of their own where the bus supports namespaces, apart from other platforms on this broker.
        "MKT_PULSAR_NAMESPACE": f"public/traces-{uuid.uuid4().hex[:8]}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_endpoint,
        "MKT_ANALYTICS_BATCH_DELAY_SECONDS": "0.1",
    })
    full_env = {**os.environ, **{k: str(v) for k, v in env.items()}}
    platform = Platform(tmp_path_factory.mktemp("traced-state"), full_env, out=io.StringIO())
    platform.start()
    try:
        platform.wait_ready(timeout=120)
        yield platform, Rest(edge_port, platform.dev_token({"*": "admin"}, subject="tests"))
    finally:
        platform.stop()


class Trace:
    """Jaeger's JSON of one trace: spans by id, each one's service, kind and parent."""

    def __init__(self, data: dict):
        self.data = data
        processes = {key: p["serviceName"] for key, p in data["processes"].items()}
        self.spans = {s["spanID"]: s for s in data["spans"]}
        self.service = {s["spanID"]: processes[s["processID"]] for s in data["spans"]}

    def services(self) -> set[str]:
        return set(self.service.values())

    @staticmethod
    def kind(span: dict) -> str:
        return next((t["value"] for t in span.get("tags", ()) if t["key"] == "span.kind"), "")

    def parent(self, span: dict) -> str | None:
        return next((r["spanID"] for r in span.get("references", ()) if r["refType"] == "CHILD_OF"), None)

    def chain(self, span_id: str) -> list[str]:
        """The span's ancestors present in the trace, nearest first."""
        chain, seen = [], {span_id}
        while (parent := self.parent(self.spans[span_id])) in self.spans and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            span_id = parent
        return chain

    def descends_from(self, span_id: str, ancestor: str) -> bool:
        return ancestor in self.chain(span_id)


def _complete(trace: Trace, edge_span: str | None) -> list[str]:
    """What the launch's trace still lacks (empty: everything is there)."""
    missing = sorted(REQUIRED_SERVICES - trace.services())
    # notify's dispatcher hands each message over in the trace it was accepted in
    if not any(trace.service[i] == "marketing-notify" and s["operationName"] == "deliver message"
               for i, s in trace.spans.items()):
        missing.append("notify's `deliver message` span")
    if edge_span is None:
        return missing + ["the edge's span"]
    hops = [s for s in trace.spans.values() if trace.kind(s) == "consumer"
            and trace.descends_from(s["spanID"], edge_span)
            and any(trace.kind(trace.spans[a]) == "producer" for a in trace.chain(s["spanID"]))]
    if not hops:
        missing.append("a Pulsar hop (a consumer span under a producer span under the edge's)")
    strays = [f"{trace.service[i]}:{s['operationName']}" for i, s in trace.spans.items()
              if i != edge_span and not trace.descends_from(i, edge_span)]
    if strays:
        missing.append(f"spans not under the edge's: {strays[:5]}")
    return missing


def test_a_campaign_launch_is_one_trace_from_the_edge_through_pulsar_to_every_service(traced_platform, jaeger):
    platform, rest = traced_platform
    ws = f"trc-{uuid.uuid4().hex[:8]}"
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(3):
        rest.ok("POST", f"/v1/workspaces/{ws}/profiles/p{i}:upsert", {"profile": {
            "email": f"p{i}@example.com", "consents": granted, "attributes": [{"key": "ltv", "doubleValue": 50}]}})
    rest.ok("POST", f"/v1/workspaces/{ws}/segments?segmentId=fans",
            {"displayName": "Fans", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 30})})
    template = rest.ok("POST", f"/v1/workspaces/{ws}/templates?templateId=welcome", {
        "displayName": "Welcome", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Welcome {{ profile.email }}", "html": "<p>Hi</p>", "text": "Hi"}}})
    rest.ok("POST", f"/v1/{template['name']}:publish", {})
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    campaign = rest.ok("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Traced", "channels": ["CHANNEL_EMAIL"], "targetSegments": [f"workspaces/{ws}/segments/fans"],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template["name"]}],
        "schedule": {"startTime": start, "timeZone": "Europe/Paris"}})
    rest.ok("POST", f"/v1/{campaign['name']}:schedule", {})

    # The start, with a trace context of the test's own: the edge continues it.
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    rest.ok("POST", f"/v1/{campaign['name']}:start", {},
            headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})

    deadline = time.monotonic() + DEADLINE
    missing: list[str] = ["the trace"]
    trace = None
    while time.monotonic() < deadline:
        data = jaeger.trace(trace_id)
        if data is not None:
            trace = Trace(data)
            edge_spans = [i for i, s in trace.spans.items() if trace.service[i] == "marketing-edge"
                          and trace.parent(s) == caller_span]
            missing = _complete(trace, edge_spans[0] if edge_spans else None)
            if not missing:
                break
        time.sleep(0.5)
    services = sorted(trace.services()) if trace is not None else []
    print(f"\nlaunch trace {trace_id}: {len(trace.spans) if trace else 0} spans from {', '.join(services)}")
    if trace is not None:
        counts: dict[tuple[str, str], int] = {}
        for i, span in trace.spans.items():
            key = (trace.service[i], span["operationName"])
            counts[key] = counts.get(key, 0) + 1
        for (service, operation), n in sorted(counts.items()):
            print(f"  {service:<24} {operation}" + (f"  x{n}" if n > 1 else ""))
    assert not missing, f"trace {trace_id} lacks {missing}; it has {services}"

    operations = {(trace.service[i], s["operationName"]) for i, s in trace.spans.items()}
    for service, operation in (("marketing-campaign", "marketing.campaign.v1.CampaignService/StartCampaign"),
                               ("marketing-audience", "marketing.audience.v1.AudienceService/CreateSegmentSnapshot"),
                               ("marketing-content", "marketing.content.v1.ContentService/RenderTemplate"),
                               ("marketing-notify", "marketing.notify.v1.NotifyService/BatchSendMessages")):
        assert (service, operation) in operations, (service, operation, sorted(operations))
        # ONE trace: this platform ran one launch, and every span of these calls Jaeger holds is in its trace.
        found = {t["traceID"] for t in jaeger.traces(service, limit=500, operation=operation)}
        assert found == {trace_id}, (service, operation, found)
