"""The generated Grafana dashboards, proven against a real Prometheus (no Grafana server can be had
here): Prometheus scrapes the running platform (every service's /metrics, the edge's Envoy stats) with
the generated SLO rules loaded (deploy/prometheus/), traffic touches every signal (REST calls on
every service, NOT_FOUNDs, a campaign the scheduler starts, notify deliveries, analytics events, an
erasure every consumer sees), then every query of every panel of every dashboard in deploy/grafana/
must return at least one series ($variables substituted, $__rate_interval as 1m); a panel whose
query returns nothing fails the test and is named.

An induced error burst: the audience service's MongoDB (the nx-27017 child) is stopped and
audience's segment reads are called: its page alert (slo/audience.yaml) must become active on the
live Prometheus (rules evaluated every second). The generated page alerts have no `for:` clause, so
they fire at the first evaluation that sees the burn; a `for:` would be respected by Prometheus
(pending first), so the test accepts `pending` or `firing`. MongoDB is started again afterwards and
audience waited for, for the tests that follow."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dashboards import generate
from devstack.processes import free_ports
from devstack.servers import prometheus as prometheus_server
from devstack.servers.platform import slo_graph_url
from slo.spec import load_file
from svc_kit.services import SERVICES
from tests.conftest import _unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.embedded_only(
    "the panels' queries and the alert rules read the same series on both buses (consumer lag included), "
    "and traffic through Pulsar is proven by the metrics, traces and logs suites on both (CI time)")]
REPO = Path(__file__).resolve().parents[2]
RATE_WINDOW = "1m"
ALL = ".*"  # what Grafana's "All" sends for the multi-value variables (allValue)


def query(base: str, expr: str) -> list[dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


def api(base: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
        return json.load(response)["data"]


def eventually(probe, what: str, timeout: float, pause: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(pause)


@pytest.fixture(scope="module")
def live_prometheus(running, tmp_path_factory):
    """A real Prometheus (devstack/servers/prometheus.py's config: the jobs of docs/observability.md)
    scraping every service and the edge every 3 s with the generated rules evaluated every second;
    its base URL. Not the session's `prometheus` fixture (tests/e2e/conftest.py): that one scrapes every
    second with a 1 s timeout, which the error burst below would turn into audience being down."""
    program = prometheus_server.binary()
    if program is None:
        _unavailable("prometheus", f"not installed ({prometheus_server.INSTALL_HINT})")
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "data").mkdir()
    # Scrapes every 3 s: with its MongoDB down, audience's /metrics waits for the driver's 2 s server
    # selection (the outbox backlog gauge), which a 1 s scrape timeout would count as the target down.
    config = prometheus_server.render_config(prometheus_server.scrape_targets(running.platform), "3s",
                                             prometheus_server.rule_files())
    assert config["rule_files"], "no generated rules in deploy/prometheus (python -m slo.generate)"
    config["global"]["evaluation_interval"] = "1s"
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_ports(1)[0]
    log = open(folder / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(prometheus_server.argv(program, folder, port), stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    client = prometheus_server.Client(f"http://127.0.0.1:{port}")
    try:
        client.wait_ready(30, process)
        client.wait_until_up([spec.name for spec in SERVICES] + ["edge"], timeout=60)
        yield client.url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def ok(response, *allowed: int):
    assert response.status in (allowed or (200,)), (response.status, response.body)
    return response.body


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def traffic(running, live_prometheus):
    """Two rounds of calls that touch every signal of every dashboard (the workspace of the last).
    Two, because a labelled counter is born at its first increment, so the first one never counts
    in a rate(): the SLIs over rarely-called RPCs, scheduler starts and hand-offs need a second round
    after Prometheus has scraped the first."""
    first = one_round(running.rest)
    born = ('mkt_campaign_starts_total{outcome="ok"}', "mkt_notify_handoff_seconds_count",
            'grpc_server_handled_total{grpc_method="GetSegment"}', 'grpc_server_handled_total{grpc_method="Check"}',
            "mkt_journey_timer_lateness_seconds_count", 'mkt_journey_sends_total{outcome="ok"}')
    eventually(lambda: all(query(live_prometheus, expr) for expr in born), "the first round's series in Prometheus",
               timeout=60)
    one_round(running.rest)
    return first


def one_round(rest) -> str:
    """Profiles, a segment read, a template rendered, a campaign the scheduler starts a few seconds
    ahead (notify delivers it to the SMTP sink), events ingested, an API key used at the edge, a
    NOT_FOUND from every service and an erasure; returns once the launch has completed."""
    ws = f"dash-{uuid.uuid4().hex[:8]}"
    people = ("ann", "bob", "cem")
    for person in people:
        ok(rest.call("POST", f"/v1/workspaces/{ws}/profiles/{person}:upsert", {"profile": {
            "email": f"{person}@example.com", "attributes": [{"key": "ltv", "doubleValue": 500}],
            "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}}))
    segment = ok(rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=buyers", {
        "displayName": "Buyers", "definition": json.dumps({"attribute": "ltv", "op": "gte", "value": 100})}))
    template = ok(rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=hello", {
        "displayName": "Hello", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Dashboards", "html": "<p>Hello {{ profile.email }}</p>", "text": "Hello"}}}))
    ok(rest.call("POST", f"/v1/{template['name']}:publish", {}))
    # The scheduler starts this one by itself a few seconds from now; notify delivers its emails.
    start = datetime.now(UTC) + timedelta(seconds=4)
    campaign = ok(rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Scheduled", "channels": ["CHANNEL_EMAIL"], "targetSegments": [segment["name"]],
        "contents": [{"channel": "CHANNEL_EMAIL", "template": template["name"]}],
        "schedule": {"startTime": iso(start), "endTime": iso(start + timedelta(hours=1)), "timeZone": "UTC"}}))
    ok(rest.call("POST", f"/v1/{campaign['name']}:schedule", {}))
    # A journey those page views trigger: entries (and refusals while inside), a send step, exits, timers.
    journey = ok(rest.call("POST", f"/v1/workspaces/{ws}/journeys?journeyId=hello", {
        "displayName": "Hello", "definition": {
            "trigger": {"event": {"event": "page_viewed"}}, "entryStep": "hello", "reentry": {"mode": "MODE_ALWAYS"},
            "steps": [{"id": "hello", "send": {"channel": "CHANNEL_EMAIL", "template": template["name"]},
                       "next": "done"}, {"id": "done", "exit": {}}]}}))
    ok(rest.call("POST", f"/v1/{journey['name']}:publish", {}))
    # Analytics: events ingested through the API (the bus brings notify's and campaign's too).
    now = iso(datetime.now(UTC) - timedelta(seconds=5))
    ok(rest.call("POST", f"/v1/workspaces/{ws}/events:ingest", {"events": [
        {"eventId": f"view-{i}", "type": "page_viewed", "profile": f"workspaces/{ws}/profiles/{people[i % 3]}",
         "eventTime": now} for i in range(20)]}))
    ok(rest.call("GET", f"/v1/{segment['name']}"))  # audience's segment-read SLO
    ok(rest.call("POST", f"/v1/{template['name']}:render", {  # content's render SLO
        "context": {"profile": f"workspaces/{ws}/profiles/ann"}}))
    key = ok(rest.call("POST", f"/v1/workspaces/{ws}/apiKeys", {"role": "ROLE_VIEWER", "displayName": "dash"}))
    ok(rest.call("GET", f"/v1/workspaces/{ws}/apiKeys"))
    ok(rest.call("GET", f"/v1/workspaces/{ws}/campaigns", token=key["key"]))  # the edge's key check (integrations)
    # NOT_FOUND on every service: the error panels need at least one non-OK code each.
    for path in (f"/v1/workspaces/{ws}/campaigns/missing", f"/v1/workspaces/{ws}/profiles/missing",
                 f"/v1/workspaces/{ws}/templates/missing", f"/v1/workspaces/{ws}/messages/missing",
                 f"/v1/workspaces/{ws}/campaigns/missing/report", f"/v1/workspaces/{ws}/apiKeys/missing"):
        ok(rest.call("GET", path), 404)
    # An erasure: audience publishes profile_erased, which content, notify and analytics consume.
    ok(rest.call("DELETE", f"/v1/workspaces/{ws}/profiles/cem"))

    def launched():
        response = rest.call("GET", f"/v1/{campaign['name']}/launch")
        return response.status == 200 and response.body["state"] == "STATE_COMPLETED"

    eventually(launched, "the scheduled campaign's launch", timeout=90)
    return ws


def substitute(expr: str) -> str:
    expr = expr.replace("$__rate_interval", RATE_WINDOW).replace("${__rate_interval}", RATE_WINDOW)
    return re.sub(r"\$\{?(method|service)\}?", ALL, expr)


def panels():
    for path in sorted(generate.OUT_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            if panel["type"] != "row":
                yield path.stem, panel


def test_every_panel_of_every_dashboard_returns_data(live_prometheus, traffic):
    pending = {(board, panel["title"], target["refId"]): substitute(target["expr"])
               for board, panel in panels() for target in panel["targets"]}
    assert len(pending) > 50
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        for key, expr in list(pending.items()):
            if query(live_prometheus, expr):
                del pending[key]
        time.sleep(1)
    missing = sorted({f"{board}: {title}" for board, title, _ in pending})
    assert not pending, "panels with no data:\n  " + "\n  ".join(
        missing + [f"({b} {t} {r}) {e}" for (b, t, r), e in pending.items()])


def test_make_runs_slo_graph_links_show_each_sli_and_its_objective(live_prometheus, traffic):
    """The links `make run` prints (devstack/servers/platform.py slo_graph_url): two lines per SLO."""
    for spec in SERVICES:
        url = urllib.parse.urlparse(slo_graph_url(9090, spec.name))
        expr = urllib.parse.parse_qs(url.query)["g0.expr"][0]
        slos = load_file(REPO / "slo" / f"{spec.name}.yaml").slos

        def both_lines(expr=expr, slos=slos):
            lines = {(r["metric"]["slo_name"], r["metric"]["line"]) for r in query(live_prometheus, expr)}
            return lines == {(slo.name, line) for slo in slos for line in ("SLI 1h", "objective")}

        eventually(both_lines, f"{spec.name}'s SLO graph", timeout=30)


def alert_states(base: str, name: str, labels: dict[str, str]) -> set[str]:
    return {a["state"] for a in api(base, "/api/v1/alerts")["alerts"]
            if a["labels"].get("alertname") == name and labels.items() <= a["labels"].items()}


def test_an_error_burst_on_audience_segment_reads_pages(running, live_prometheus, traffic):
    """MongoDB stopped: audience's segment reads fail (UNKNOWN/INTERNAL after the driver's 2 s server
    selection), the 5m and 1h error ratios pass 14.4 times the budget and the page alert of
    slo/audience.yaml goes active. B's page alerts have no `for:` clause, so they fire at the first
    evaluation that sees the burn; had they one, `pending` would be the state to wait for, which is why
    either state passes."""
    spec = load_file(REPO / "slo" / "audience.yaml")
    slo = next(s for s in spec.slos if s.name == "audience-segment-reads")
    page = {**slo.alerting.page_labels, "slo_service": "audience", "slo_name": slo.name}
    ws, rest = traffic, running.rest
    segment = f"/v1/workspaces/{ws}/segments/buyers"
    assert rest.call("GET", segment).status == 200
    assert not alert_states(live_prometheus, slo.alerting.name, page) & {"pending", "firing"}

    mongo = next(c for c in running.platform.children if c.name == "mongo")
    mongo.process.send_signal(signal.SIGTERM)
    mongo.process.wait(timeout=15)
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: rest.call("GET", segment).status, range(48)))
        assert all(status >= 500 for status in statuses), statuses

        def paged():
            return alert_states(live_prometheus, slo.alerting.name, page) & {"pending", "firing"}

        try:
            eventually(paged, f"{slo.alerting.name} {page} pending or firing", timeout=60)
        except AssertionError as error:
            seen = {expr: [(r["metric"], r["value"][1]) for r in query(live_prometheus, expr)] for expr in (
                f"slo:sli_error:ratio_rate5m{{{slo.selector}}}", f"slo:sli_error:ratio_rate1h{{{slo.selector}}}",
                'sum by (grpc_method, grpc_code) (grpc_server_handled_total{service="audience", grpc_method="GetSegment"})')}
            raise AssertionError(f"{error}; Prometheus has {seen}; alerts {api(live_prometheus, '/api/v1/alerts')}") from None
        assert query(live_prometheus, f"slo:sli_error:ratio_rate5m{{{slo.selector}}} > 14.4 * {slo.error_budget}")
    finally:
        mongo.start(running.platform.env)
        eventually(lambda: rest.call("GET", segment).status == 200, "audience reading MongoDB again", timeout=90)
