"""Prometheus as `make run` starts it (a child of the supervisor, devstack/servers/prometheus.py) on the
meshed platform: every service, the edge and every sidecar scraped and up."""

from __future__ import annotations

import pytest

from devstack.servers import prometheus
from svc_kit.services import SERVICES
from tests.conftest import _unavailable

pytestmark = pytest.mark.e2e


def test_make_runs_prometheus_scrapes_services_edge_and_sidecars(running):
    platform = running.platform
    if platform.prometheus_port is None:
        _unavailable("Prometheus", f"not installed ({prometheus.INSTALL_HINT})")
    jobs = {t.job for t in prometheus.scrape_targets(platform)}
    names = {spec.name for spec in SERVICES}
    assert jobs == names | {"edge"} | {f"sidecar-{name}" for name in names}
    client = prometheus.Client(f"http://127.0.0.1:{platform.prometheus_port}")
    client.wait_ready()
    up = client.wait_until_up(sorted(jobs), timeout=60)
    assert {t["labels"]["job"] for t in up} == jobs
    assert {t["scrapeUrl"].rsplit("/", 2)[-1] for t in up} == {"metrics", "prometheus"}
    sidecar_stats = client.query('count by (job) ({job=~"sidecar-.+", __name__=~"envoy_.+"})')
    assert {r["metric"]["job"] for r in sidecar_stats} == {f"sidecar-{name}" for name in names}
    assert f"http://127.0.0.1:{platform.prometheus_port}" in platform.endpoints()
