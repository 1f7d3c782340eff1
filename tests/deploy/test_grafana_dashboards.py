"""The chart's Grafana dashboard ConfigMaps (templates/grafana-dashboards.yaml): one per generated
dashboard, labelled for Grafana's dashboard sidecar, with the folder annotation; off by default."""

from __future__ import annotations

import json

from dashboards import generate
from tests.deploy.conftest import NAMESPACE, by_kind


def dashboards(objects: list[dict]) -> dict[str, dict]:
    return {name: o for name, o in by_kind(objects, "ConfigMap").items()
            if o["metadata"]["labels"].get("grafana_dashboard") == "1"}


def test_chart_copies_are_the_generated_dashboards():
    for path in sorted(generate.OUT_DIR.glob("*.json")):
        assert (generate.CHART_DIR / path.name).read_text() == path.read_text(), path.name


def test_production_ships_every_dashboard_for_the_sidecar(rendered):
    found = dashboards(rendered("production"))
    expected = {p.stem: json.loads(p.read_text()) for p in generate.OUT_DIR.glob("*.json")}
    assert {name.removeprefix("marketing-dashboard-") for name in found} == set(expected)
    for name, config_map in found.items():
        stem = name.removeprefix("marketing-dashboard-")
        assert config_map["metadata"]["namespace"] == NAMESPACE
        assert config_map["metadata"]["annotations"]["grafana_folder"] == "Marketing platform"
        (key, text), = config_map["data"].items()
        assert key == f"marketing-{stem}.json"
        assert json.loads(text) == expected[stem]


def test_dashboards_are_off_by_default_and_follow_the_values(rendered, helm):
    assert not dashboards(rendered("default"))
    from tests.deploy.conftest import CHART, RELEASE, run_helm
    from tests.deploy.manifests import load_all

    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                      "--set", "grafana.dashboards.enabled=true", "--set", "grafana.dashboards.namespace=monitoring",
                      "--set", "grafana.dashboards.folder=SLOs", "--set", "grafana.dashboards.labelValue=yes")
    assert result.returncode == 0, result.stderr
    maps = [o for o in load_all(result.stdout) if o["kind"] == "ConfigMap" and "grafana_folder" in
            (o["metadata"].get("annotations") or {})]
    assert len(maps) == len(list(generate.OUT_DIR.glob("*.json")))
    assert {(m["metadata"]["namespace"], m["metadata"]["annotations"]["grafana_folder"],
             m["metadata"]["labels"]["grafana_dashboard"]) for m in maps} == {("monitoring", "SLOs", "yes")}
