"""The analytics service in the running platform, through the REST edge: a campaign with two
variants is launched, recipients open, one clicks, buys (a purchase ingested through
POST /v1/workspaces/{ws}/events:ingest) and unsubscribes, and the report shows it per variant;
the report exports as text/csv; with analytics killed, the campaign's stats answer degraded in
time and campaign writes succeed; a storm of duplicates (concurrent ingest calls and bus
redeliveries) is counted once."""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import event_schemas
from devstack.servers import smtp_sink
from devstack.tools import demo
from svc_kit.bus.factory import make_bus

pytestmark = pytest.mark.e2e

NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def campaign(running):
    """A launched two-variant campaign after opens, one click, one purchase and one unsubscribe."""
    ws = f"an-{uuid.uuid4().hex[:8]}"
    edge = demo.Edge(f"http://127.0.0.1:{running.edge_port}", running.rest.token)
    with contextlib.redirect_stdout(io.StringIO()):
        segment, template = demo.setup(edge, ws)
        name = demo.launch(edge, ws, segment, template, 90, lead=3)
        expected = sum(1 for _, _, ltv in demo.PEOPLE if ltv >= 100)
        messages = demo.delivered(running.platform.state_dir / smtp_sink.STORE_NAME, ws, expected, 90)
        click, unsubscribe_link, pixels = demo.show(messages)
        demo.report_delivery(edge, ws, messages, running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE])
        demo.open_emails(pixels, 4)
        buyer = demo.follow_click(click)
        demo.purchase(edge, ws, name, buyer, 60)
        demo.unsubscribe(edge, ws, unsubscribe_link)
    variant_of = {m["To"].split("@")[0]: "a" if m["Subject"].startswith("Spring sale") else "b" for m in messages}
    return {"ws": ws, "name": name, "expected": expected, "buyer": buyer, "variant_of": variant_of}


def report_when(rest, name, ready, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        response = rest.call("GET", f"/v1/{name}/report")
        if response.status == 200 and ready(response.body):
            return response.body
        assert time.monotonic() < deadline, (response.status, figures(
            (response.body or {}).get("totals", {}), "sent", "delivered", "opened", "clicked", "unsubscribed",
            "converted", "machineOpens", "machineClicks"))
        time.sleep(0.5)


def figures(metrics: dict, *names: str) -> tuple[int, ...]:
    return tuple(int(metrics.get(n, 0)) for n in names)


def test_the_report_shows_delivery_engagement_unsubscribes_and_conversions_per_variant(running, campaign):
    name, expected, buyer = campaign["name"], campaign["expected"], campaign["buyer"]
    report = report_when(running.rest, name, lambda body: figures(
        body.get("totals", {}), "delivered", "opened", "clicked", "unsubscribed", "converted") == (expected, 4, 1, 1, 1))
    totals = report["totals"]
    assert figures(totals, "sent", "delivered") == (expected, expected)
    assert report["campaign"] == name and report["goalType"] == "purchase"
    assert totals["revenue"] == [{"currencyCode": "EUR", "units": "49", "nanos": 900000000}]
    variants = {v["variant"]: v["metrics"] for v in report["variants"]}
    assert set(variants) == {"a", "b"}
    names = ("sent", "delivered", "opened", "clicked", "unsubscribed", "converted")
    assert tuple(sum(figures(variants[v], n)[0] for v in variants) for n in names) == figures(totals, *names)
    mine = variants[campaign["variant_of"][buyer]]
    assert figures(mine, "clicked", "unsubscribed", "converted") == (1, 1, 1)
    assert [c["variant"] for c in report["comparisons"]] and report["comparisons"][0]["note"].startswith(
        "two-proportion z-test")
    print(demo.table(report))


def test_the_report_exports_as_csv(running, campaign):
    report_when(running.rest, campaign["name"], lambda body: int(body["totals"].get("delivered", 0)) > 0)
    response = running.rest.call("GET", f"/v1/{campaign['name']}/report:export")
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.body.splitlines()
    assert lines[0].startswith("scope,channel,variant,provider,sent,delivered")
    assert lines[1].startswith(f"total,,,,{campaign['expected']},{campaign['expected']}")
    assert {line.split(",")[2] for line in lines if line.startswith("variant,")} == {"a", "b"}


def test_another_workspaces_report_is_404_and_bad_events_are_400(running, campaign):
    other = campaign["name"].replace(f"workspaces/{campaign['ws']}/", "workspaces/someone-else/")
    assert running.rest.call("GET", f"/v1/{other}/report").status == 404
    bad = running.rest.call("POST", f"/v1/workspaces/{campaign['ws']}/events:ingest", {"events": [
        {"eventId": "x1", "type": "purchase"}, {"eventId": "x2", "eventTime": iso(datetime.now(UTC))}]})
    assert bad.status == 400, bad.body
    fields = [v["field"] for d in bad.body["details"] for v in d.get("fieldViolations", [])]
    assert fields == ["events[0].event_time", "events[1].type"]


def health(running, service: str) -> str:
    try:
        with running.channel(service) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    except grpc.RpcError:
        return "DOWN"


def test_with_analytics_down_stats_answer_degraded_in_time_and_campaign_writes_succeed(running, campaign):
    name = campaign["name"]
    report_when(running.rest, name, lambda body: int(body["totals"].get("delivered", 0)) > 0)
    stats = running.rest.ok("GET", f"/v1/{name}/stats")
    assert not stats.get("reportingDegraded") and int(stats["report"]["totals"]["delivered"]) > 0
    child = next(c for c in running.platform.children if c.name == "analytics")
    child.process.kill()
    child.process.wait(10)
    try:
        started = time.monotonic()
        stats = running.rest.ok("GET", f"/v1/{name}/stats")
        took = time.monotonic() - started
        assert stats["reportingDegraded"] is True and "analytics" in stats["degradedReason"]
        assert stats["campaign"]["name"] == name and "report" not in stats
        assert took < 1.3, took
        created = running.rest.ok("POST", f"/v1/workspaces/{campaign['ws']}/campaigns",
                       {"displayName": "Written while analytics is down"})
        renamed = running.rest.ok("PATCH", f"/v1/{created['name']}?updateMask=displayName",
                       {"displayName": "Still writable", "etag": created["etag"]})
        assert renamed["displayName"] == "Still writable"
    finally:
        child.start(running.platform.env)
        deadline = time.monotonic() + 60
        while health(running, "analytics") != "SERVING":
            assert time.monotonic() < deadline, child.tail()
            time.sleep(0.3)
    deadline = time.monotonic() + 5  # the campaign service's channel reconnects within its 1 s backoff
    while running.rest.ok("GET", f"/v1/{name}/stats").get("reportingDegraded"):
        assert time.monotonic() < deadline, "reporting still degraded with analytics back"
        time.sleep(0.5)


def test_a_duplicate_storm_is_counted_once(running):
    ws = f"storm-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC) - timedelta(minutes=1)
    events = [{"eventId": f"view-{i}", "type": "storm_viewed", "profile": f"workspaces/{ws}/profiles/p{i % 7}",
               "eventTime": iso(now)} for i in range(40)]

    def ingest(_):
        return running.rest.ok("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": events})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ingest, range(16)))
    assert sum(int(a.get("accepted", 0)) for a in answers) == 40
    assert sum(int(a.get("duplicates", 0)) for a in answers) == 15 * 40

    # The bus delivers at least once: the same notify events, sent again and again, are stored once.
    bus = make_bus({**running.platform.env})
    producer = bus.producer(NOTIFY_TOPIC, event_schemas.load("notify.v1"))
    info = {"message": f"workspaces/{ws}/messages/m1", "channel": "EMAIL", "recipient": f"workspaces/{ws}/profiles/p1",
            "category": "MARKETING", "campaign": f"workspaces/{ws}/campaigns/storm", "idempotency_key": "k",
            "labels": {}, "variant": "a"}
    envelopes = [
        {"event_id": f"{ws}-sent", "event_type": "message_sent", "payload": ("marketing.notify.v1.MessageSent",
                                                                            {"message": info})},
        {"event_id": f"{ws}-click", "event_type": "message_clicked", "payload": (
            "marketing.notify.v1.MessageClicked", {"message": info, "user_agent": demo.BROWSER})}]
    try:
        for _ in range(25):
            for envelope in envelopes:
                producer.send("m1", {**envelope, "workspace": ws, "aggregate_id": "m1", "aggregate_version": 1,
                                     "occurred_at": now, "producer": "svc_notify", "traceparent": None,
                                     "tracestate": None})
    finally:
        producer.close()
        bus.close()

    window = {"startTime": iso(now - timedelta(hours=1)), "endTime": iso(now + timedelta(hours=1))}
    deadline = time.monotonic() + 30
    while True:
        rows = running.rest.ok("POST", f"/v1/workspaces/{ws}/events:aggregate", {
            "interval": window, "granularity": "TIME_GRANULARITY_TOTAL",
            "groupBy": ["EVENT_DIMENSION_EVENT_TYPE"]}).get("rows", [])
        counts = {r["eventType"]: int(r["eventCount"]) for r in rows}
        if counts.get("message_clicked"):
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.3)
    time.sleep(1.0)  # let any late redelivery land; it must not count
    rows = running.rest.ok("POST", f"/v1/workspaces/{ws}/events:aggregate", {
        "interval": window, "granularity": "TIME_GRANULARITY_TOTAL", "groupBy": ["EVENT_DIMENSION_EVENT_TYPE"]})["rows"]
    assert {r["eventType"]: int(r["eventCount"]) for r in rows} == {
        "storm_viewed": 40, "message_sent": 1, "message_clicked": 1}
    report = running.rest.ok("GET", f"/v1/workspaces/{ws}/campaigns/storm/report")
    assert figures(report["totals"], "sent", "clicked", "totalClicks") == (1, 1, 1)
