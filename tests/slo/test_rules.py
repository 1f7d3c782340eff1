"""The generated SLO rules (deploy/prometheus/*.rules.yaml): current with the specs, accepted by
`promtool check rules`, and proven by `promtool test rules` for every SLO's alert family:

* an error burst (100% errors for 15 minutes after an hour of clean traffic) fires the page alert;
* a slow burn (2x the budget's rate for 6 hours) fires the ticket alert and never the page;
* no traffic (counters that stand still) records no ratio and fires nothing;
* healthy traffic fires nothing: with no error series at all the ratio is 0, not missing, and the budget
  untouched; with errors at half the budget's rate for 6 hours nothing fires and half the budget is left.

The input series come from tests/slo/traffic.py (each SLO's metrics as the services publish them); the
expectations come from the scenario and the spec (alert name, page and ticket labels), not from the rules.
Samples and evaluations every 5 minutes keep each promtool run near 2 s; this relies on Prometheus 2.x
range selection (both ends of [5m] included, Debian's 2.42): under 3.x a [5m] range over 5-minute samples
holds one sample, so STEP_MINUTES would have to shrink."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from slo.generate import RULES_DIR, rule_file, stale_files
from slo.rules import BUDGET_REMAINING, ERROR_BUDGET, OBJECTIVE, sli_error
from slo.spec import Slo, all_slos, load_all
from tests.slo.traffic import MODELS

REPO = Path(__file__).resolve().parents[2]
SLOS = all_slos(load_all())
STEP_MINUTES = 5
RATE = 100_000.0  # events per step


def test_generated_rules_are_current():
    assert stale_files() == [], "run `.venv/bin/python -m slo.generate` and commit the result"


def test_promtool_check_rules(promtool):
    files = sorted(RULES_DIR.glob("*.rules.yaml"))
    assert len(files) == len({slo.service for slo in SLOS})
    result = subprocess.run([str(promtool), "check", "rules", *map(str, files)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_slo_has_a_traffic_model():
    missing = [slo.name for slo in SLOS if slo.name not in MODELS]
    assert not missing, f"add a model of these SLOs' metrics to tests/slo/traffic.py: {missing}"


def test_alerts_carry_the_spec_labels_and_link_their_runbook_section():
    """Every SLO has a page and a ticket alert with the spec's labels, its summary and a runbook link to a
    heading of docs/slo.md."""
    page = (REPO / "docs" / "slo.md").read_text()
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+\s+(.+?)\s*$", page, re.M)}
    for slo in SLOS:
        alerts = [rule for group in yaml.safe_load(rule_file(slo.service).read_text())["groups"]
                  for rule in group["rules"] if rule.get("labels", {}).get("slo_name") == slo.name and "alert" in rule]
        assert len(alerts) == 2, slo.name
        assert [alert["labels"] for alert in alerts] == [
            {**slo.alerting.labels, **slo.alerting.page_labels, "slo_service": slo.service, "slo_name": slo.name},
            {**slo.alerting.labels, **slo.alerting.ticket_labels, "slo_service": slo.service, "slo_name": slo.name}]
        for alert in alerts:
            assert alert["alert"] == slo.alerting.name
            assert alert["annotations"]["summary"] == slo.alerting.annotations["summary"]
            path, _, anchor = alert["annotations"]["runbook"].partition("#")
            assert path == "docs/slo.md" and anchor in anchors, f"{slo.name}: runbook {alert['annotations']['runbook']}"


# -- promtool test rules ------------------------------------------------------------------------------


def _matchers(labels: dict[str, str]) -> str:
    return ",".join(f'{key}="{value}"' for key, value in labels.items())


def _firing(slo: Slo, labels: dict[str, str]) -> str:
    return (f'count(ALERTS{{alertname="{slo.alerting.name}",alertstate="firing",{_matchers(labels)},'
            f'slo_name="{slo.name}"}}) or vector(0)')


def _expect(expr: str, minutes: int, value: float | None) -> dict:
    """A label-less result (a count) of `value` at `minutes`; None: no result at all."""
    samples = [] if value is None else [{"labels": "{}", "value": value}]
    return {"expr": expr, "eval_time": f"{minutes}m", "exp_samples": samples}


def _series(slo: Slo, good: list[float], bad: list[float] | None) -> list[dict]:
    series = MODELS[slo.name](good, bad)
    return [{"series": name, "values": " ".join(repr(float(v)) for v in values)} for name, values in series.items()]


def _recorded(slo: Slo, name: str) -> str:
    return f'{name}{{slo_service="{slo.service}",slo_name="{slo.name}"}}'


def _alerts(slo: Slo, page: int, ticket: int, minutes: int) -> list[dict]:
    return [_expect(_firing(slo, slo.alerting.page_labels), minutes, page),
            _expect(_firing(slo, slo.alerting.ticket_labels), minutes, ticket)]


def scenarios(slo: Slo) -> list[dict]:
    budget = float(slo.error_budget)
    labels = f'{{slo_name="{slo.name}", slo_service="{slo.service}"}}'
    tests = []

    # An error burst: an hour of clean traffic, then 15 minutes where every event fails.
    good, bad = [RATE] * 13 + [0.0] * 3, [0.0] * 13 + [RATE] * 3
    tests.append({"name": "burst", "input_series": _series(slo, good, bad), "promql_expr_test": [
        *_alerts(slo, page=0, ticket=0, minutes=60),
        _expect(_firing(slo, slo.alerting.page_labels), 75, 1)]})

    # A slow burn: 2x the budget's rate for 6 hours.
    steps = 6 * 60 // STEP_MINUTES + 1
    good, bad = [RATE * (1 - 2 * budget)] * steps, [RATE * 2 * budget] * steps
    tests.append({"name": "slow burn", "input_series": _series(slo, good, bad), "promql_expr_test": [
        _expect(_firing(slo, slo.alerting.page_labels), 60, 0),
        *_alerts(slo, page=0, ticket=1, minutes=180),
        *_alerts(slo, page=0, ticket=1, minutes=360)]})

    # No traffic: the counters exist but stand still for 2 hours.
    steps = 2 * 60 // STEP_MINUTES + 1
    tests.append({"name": "no traffic", "input_series": _series(slo, [0.0] * steps, [0.0] * steps),
                  "promql_expr_test": [
                      *_alerts(slo, page=0, ticket=0, minutes=120),
                      *(_expect(_recorded(slo, sli_error(w)), 120, None) for w in ("5m", "1h", "3d", "30d")),
                      _expect(_recorded(slo, BUDGET_REMAINING), 120, None)]})

    # Healthy, no error series at all: the ratio is 0 (not missing), the budget untouched.
    tests.append({"name": "healthy, no errors", "input_series": _series(slo, [RATE] * steps, None),
                  "promql_expr_test": [
                      *_alerts(slo, page=0, ticket=0, minutes=120),
                      *({"expr": _recorded(slo, sli_error(w)), "eval_time": "120m",
                         "exp_samples": [{"labels": f"{sli_error(w)}{labels}", "value": 0}]}
                        for w in ("5m", "30m", "1h", "3d", "30d")),
                      {"expr": _recorded(slo, BUDGET_REMAINING), "eval_time": "120m",
                       "exp_samples": [{"labels": f"{BUDGET_REMAINING}{labels}", "value": 1}]},
                      {"expr": _recorded(slo, OBJECTIVE), "eval_time": "120m",
                       "exp_samples": [{"labels": f"{OBJECTIVE}{labels}", "value": float(slo.objective_ratio)}]},
                      {"expr": _recorded(slo, ERROR_BUDGET), "eval_time": "120m",
                       "exp_samples": [{"labels": f"{ERROR_BUDGET}{labels}", "value": budget}]}]})

    # Healthy, errors at half the budget's rate for 6 hours: nothing fires, about half the budget is left.
    steps = 6 * 60 // STEP_MINUTES + 1
    good, bad = [RATE * (1 - budget / 2)] * steps, [RATE * budget / 2] * steps
    half = f"count(({_recorded(slo, BUDGET_REMAINING)} > 0.45) < 0.55)"
    tests.append({"name": "healthy, within budget", "input_series": _series(slo, good, bad), "promql_expr_test": [
        *_alerts(slo, page=0, ticket=0, minutes=60),
        *_alerts(slo, page=0, ticket=0, minutes=360),
        _expect(half, 360, 1)]})
    for test in tests:
        test["interval"] = f"{STEP_MINUTES}m"
    return tests


@pytest.mark.parametrize("slo", SLOS, ids=lambda slo: slo.name)
def test_promtool_test_rules(promtool, tmp_path, slo):
    if slo.name not in MODELS:
        pytest.fail(f"no traffic model for {slo.name} in tests/slo/traffic.py")
    document = {"rule_files": [str(rule_file(slo.service))], "evaluation_interval": f"{STEP_MINUTES}m",
                "tests": scenarios(slo)}
    path = tmp_path / f"{slo.name}.test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=200))
    result = subprocess.run([str(promtool), "test", "rules", str(path)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, f"{slo.name} ({path}):\n{result.stdout}{result.stderr}"


def test_docs_list_every_slo_with_its_objective():
    """docs/slo.md's table names every SLO of the specs with the spec's objective."""
    lines = (REPO / "docs" / "slo.md").read_text().splitlines()
    for slo in SLOS:
        row = [line for line in lines if line.startswith("|") and f"[{slo.name}](#{slo.name})" in line]
        assert row, f"docs/slo.md: no row for {slo.name}"
        assert f"| {slo.objective}% |" in row[0], f"docs/slo.md: {slo.name} is {slo.objective}% in its spec"
