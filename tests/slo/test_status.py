"""`mkt slo status` against a real Prometheus (Debian's 2.42) that loads the generated rules and scrapes a
small exporter in this process: the metrics the services publish (svc_kit.metrics' own classes), driven to
fail half of the campaign API's calls while analytics stores every batch. The table must show the
campaign API burning its budget with the page alert firing, analytics healthy, and the SLOs without
traffic as such."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from devstack.processes import free_port, stop_process
from mkt.cli import main as mkt
from slo.generate import RULES_DIR
from slo.spec import all_slos, load_all
from svc_kit.metrics import GrpcServerMetrics
from tests.slo.conftest import start_prometheus

CAMPAIGN = "marketing.campaign.v1.CampaignService"
DEADLINE_SECONDS = 90.0


class Exporter:
    """The services' metrics on one /metrics, with a thread adding calls and batches every 0.2 s."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.grpc = GrpcServerMetrics(self.registry)
        self.batches = Counter("mkt_analytics_batches_total", "batches", ("service", "outcome"),
                               registry=self.registry)
        self.port = free_port()
        self.stopped = threading.Event()
        self.server = None

    def tick(self):
        handled = self.grpc.handled
        handled.labels("unary", CAMPAIGN, "GetCampaign", "OK").inc(10)
        handled.labels("unary", CAMPAIGN, "GetCampaign", "NOT_FOUND").inc(2)  # a client's error: not counted
        handled.labels("unary", CAMPAIGN, "GetCampaign", "INTERNAL").inc(12)
        self.batches.labels("analytics", "ok").inc(5)

    def run(self):
        while not self.stopped.wait(0.2):
            self.tick()

    def __enter__(self):
        self.server, _ = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)
        self.tick()
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.server.shutdown()


@pytest.fixture
def platform_metrics(prometheus_binary, tmp_path):
    with Exporter() as exporter:
        targets = [{"targets": [f"127.0.0.1:{exporter.port}"]}]
        process, prometheus = start_prometheus(
            prometheus_binary, tmp_path,
            [{"job_name": "campaign", "static_configs": targets}],
            sorted(RULES_DIR.glob("*.rules.yaml")))
        try:
            yield prometheus
        finally:
            stop_process(process)


def _rows(text: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("SERVICE"))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = line.split()
        # SERVICE SLO OBJECTIVE SLI BUDGET BURN5m BURN1h BURN6h BURN3d FIRING (firing may be "page, ticket")
        rows[cells[1]] = cells
    return rows


def test_status_shows_the_burning_slo_and_its_page(platform_metrics, capsys):
    import time

    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        # Exit 1 until Prometheus answers with its rules loaded (its first evaluation, slow under load).
        code = mkt(["slo", "status", "--prometheus", platform_metrics.url])
        captured = capsys.readouterr()
        output = captured.out
        if code == 0:
            rows = _rows(output)
            campaign = rows["campaign-api-availability"]
            # The rule groups evaluate on their own clocks: wait until each of them has a value too.
            if ("page" in " ".join(campaign[9:]) and "-" not in campaign[3:9]
                    and "-" not in rows["analytics-batch-processing"][3:9]):
                break
        assert time.monotonic() < deadline, (f"no page alert within {DEADLINE_SECONDS:.0f} s (exit {code}):\n"
                                             f"{output}{captured.err}")
        time.sleep(1)
    # Every SLO of the specs has a row, with its objective from Prometheus.
    assert set(rows) == {slo.name for slo in all_slos(load_all())}
    assert rows["campaign-scheduling"][:3] == ["campaign", "campaign-scheduling", "99.95%"]
    # Half of the campaign API's calls fail (12 of 24; the NOT_FOUNDs are the callers' errors): the SLI is
    # far below the objective, the budget overspent, every window burning ~500x (0.5 / 0.001).
    service, _, objective, sli, budget_left, *burns = campaign[:9]
    assert (service, objective) == ("campaign", "99.9%")
    assert float(sli.rstrip("%")) < 99.9
    assert float(budget_left.rstrip("%")) < 0
    for burn in burns:
        assert burn != "-" and float(burn.rstrip("x")) > 14.4, campaign
    # Analytics stores every batch: SLI 100%, budget untouched, no burn, nothing firing.
    analytics = rows["analytics-batch-processing"]
    assert analytics[2:5] == ["99.5%", "100.000%", "100.0%"]
    assert all(burn == "0.00x" for burn in analytics[5:9]) and analytics[9] == "-"
    # No traffic for notify: no ratio, no burn, nothing firing; its objective is still shown.
    notify = rows["notify-handoff-latency"]
    assert notify[2] == "99%" and notify[3:] == ["-"] * 7


def test_status_names_an_unreachable_prometheus(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert mkt(["slo", "status", "--prometheus", url]) == 1
    error = capsys.readouterr().err
    assert f"cannot reach Prometheus at {url}" in error and "MKT_PROMETHEUS_URL" in error


def test_status_refuses_a_bad_url(monkeypatch, capsys):
    monkeypatch.setenv("MKT_PROMETHEUS_URL", "localhost:9090")
    assert mkt(["slo", "status"]) == 2
    assert "MKT_PROMETHEUS_URL='localhost:9090' is not an http(s)://host:port URL" in capsys.readouterr().err


def test_status_says_when_prometheus_has_no_slo_rules(prometheus_binary, tmp_path, capsys):
    process, prometheus = start_prometheus(prometheus_binary, tmp_path, [], [])
    try:
        assert mkt(["slo", "status", "--prometheus", prometheus.url]) == 1
    finally:
        stop_process(process)
    error = capsys.readouterr().err
    assert f"Prometheus at {prometheus.url} records no SLO" in error and "deploy/prometheus/*.rules.yaml" in error
