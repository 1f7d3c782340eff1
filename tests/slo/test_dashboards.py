"""The generated Grafana dashboards (dashboards/generate.py): current in the repository, one per
service plus the overview, every SLO of slo/*.yaml on its service's dashboard and on the overview."""

from __future__ import annotations

import json
import textwrap

from dashboards import generate
from svc_kit.services import SERVICES

SPEC = textwrap.dedent("""\
    service: campaign
    slos:
      - name: campaign-scheduling
        objective: 99.95
        description: campaign starts fire on time
        sli:
          error_query: 'sum(rate(mkt_campaign_starts_total{outcome="failed"}[{{window}}]))'
          total_query: 'sum(rate(mkt_campaign_starts_total[{{window}}]))'
        alerting:
          name: CampaignSchedulingBudgetBurn
          labels: {team: campaigns}
          page_labels: {severity: page}
          ticket_labels: {severity: ticket}
          annotations: {summary: late starts, runbook: docs/slo.md#campaign-scheduling}
    """)


def panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p["type"] != "row"]


def test_generated_dashboards_are_current():
    assert generate.main(["--check"]) == 0, "run `python -m dashboards.generate`"


def test_one_dashboard_per_service_and_the_overview():
    rendered = generate.render_all()
    assert set(rendered) == {f"{s.name}.json" for s in SERVICES} | {"overview.json"}
    for name, text in rendered.items():
        board = json.loads(text)
        assert board["schemaVersion"] >= 39
        names = [v["name"] for v in board["templating"]["list"]]
        assert "datasource" in names, name
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        for panel in panels(board):
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
                assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_every_slo_of_the_repository_is_on_its_dashboard_and_the_overview():
    rendered = {name: json.loads(text) for name, text in generate.render_all().items()}
    slos = generate.load_slos()
    assert set(slos) == {s.name for s in SERVICES}
    for service, found in slos.items():
        titles = {p["title"] for p in panels(rendered[f"{service}.json"])}
        for slo in found:
            assert f"{slo.name}: SLI vs objective" in titles
            assert f"{slo.name}: burn rate per window" in titles
    assert {link["url"] for link in rendered["overview.json"]["links"]} == {f"/d/mkt-{s}" for s in slos}


def test_service_dashboards_show_rpcs_and_their_own_signals():
    rendered = {name: json.loads(text) for name, text in generate.render_all().items()}
    titles = {name: {p["title"] for p in panels(board)} for name, board in rendered.items()}
    for spec in SERVICES:
        assert {"Requests per RPC", "Errors per RPC and code", "Latency per RPC (p50, p95, p99)"} <= \
            titles[f"{spec.name}.json"]
    assert "Consumer lag per subscription" in titles["integrations.json"]
    assert "Outbox backlog" in titles["audience.json"]
    assert "Deliveries per channel, provider and outcome" in titles["notify.json"]
    assert "Scheduler lateness per trigger (p50, p95, p99)" in titles["campaign.json"]
    assert "Ingest lag (p50, p95, p99)" in titles["analytics.json"]
    latency = next(p for p in panels(rendered["campaign.json"]) if p["title"].startswith("Latency per RPC"))
    assert [t["expr"].split(",")[0] for t in latency["targets"]] == [
        "histogram_quantile(0.5", "histogram_quantile(0.95", "histogram_quantile(0.99"]


def test_every_slo_of_a_spec_gets_its_panels(tmp_path):
    (tmp_path / "campaign.yaml").write_text(SPEC)
    rendered = {name: json.loads(text) for name, text in generate.render_all(tmp_path).items()}
    campaign = panels(rendered["campaign.json"])
    slo_panels = [p for p in campaign if p["title"].startswith("campaign-scheduling:")]
    assert [p["title"] for p in slo_panels] == ["campaign-scheduling: SLI vs objective",
                                                "campaign-scheduling: error budget remaining",
                                                "campaign-scheduling: burn rate per window"]
    burn = slo_panels[2]
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert all('slo_name="campaign-scheduling"' in t["expr"] for p in slo_panels for t in p["targets"])
    assert not [p for p in panels(rendered["audience.json"]) if ":" in p["title"]]  # no spec, no SLO panels
    assert [link["url"] for link in rendered["overview.json"]["links"]] == ["/d/mkt-campaign"]


def test_check_reports_a_stale_file(tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "OUT_DIR", tmp_path / "grafana")
    monkeypatch.setattr(generate, "CHART_DIR", tmp_path / "chart")
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0
    (tmp_path / "grafana" / "notify.json").write_text("{}")
    (tmp_path / "chart" / "old.json").write_text("{}")
    problems = generate.stale(generate.render_all())
    assert len(problems) == 2 and "notify.json" in problems[0] and "not generated" in problems[1]
    assert generate.main(["--check"]) == 1
