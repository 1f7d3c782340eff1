"""The Prometheus config devstack/servers/prometheus.py writes: one job per target, the interval, the rule
files that exist; accepted by promtool (Debian's prometheus package); MKT_PROMETHEUS read strictly."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from devstack.servers import prometheus
from svc_kit.config import ConfigError
from tests.conftest import _unavailable

TARGETS = [prometheus.ScrapeTarget("campaign", "127.0.0.1:9101", "/metrics"),
           prometheus.ScrapeTarget("edge", "127.0.0.1:9901", "/stats/prometheus"),
           prometheus.ScrapeTarget("sidecar-campaign", "127.0.0.1:15010", "/stats/prometheus")]
RULES = """groups:
  - name: example
    rules:
      - record: job:grpc_server_handled:rate5m
        expr: sum by (job) (rate(grpc_server_handled_total[5m]))
"""


def test_one_job_per_target_and_the_rule_files_that_exist(tmp_path):
    rules_dir = tmp_path / "rules"
    assert prometheus.rule_files(rules_dir) == []
    rules_dir.mkdir()
    (rules_dir / "campaign.rules.yaml").write_text(RULES)
    (rules_dir / "notes.txt").write_text("not a rule file")
    rules = prometheus.rule_files(rules_dir)
    assert [p.name for p in rules] == ["campaign.rules.yaml"]
    path = prometheus.write_config(tmp_path / "prom", TARGETS, "5s", rules)
    config = yaml.safe_load(path.read_text())
    assert config["global"]["scrape_interval"] == "5s"
    assert config["rule_files"] == [str(rules[0])]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"campaign", "edge", "sidecar-campaign"}
    assert jobs["edge"]["metrics_path"] == "/stats/prometheus"
    assert jobs["campaign"]["static_configs"] == [{"targets": ["127.0.0.1:9101"]}]
    promtool = shutil.which("promtool")
    if promtool is None:
        _unavailable("promtool", f"not installed ({prometheus.INSTALL_HINT})")
    checked = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_settings():
    assert prometheus.settings({}) == (True, 9090)
    assert prometheus.settings({"MKT_PROMETHEUS": "off", "MKT_PROMETHEUS_PORT": "19090"}) == (False, 19090)
    with pytest.raises(ConfigError):
        prometheus.settings({"MKT_PROMETHEUS": "sometimes"})
