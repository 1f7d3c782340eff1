"""The SLO spec loader: the committed specs load, and a broken spec is refused with the file and the field."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from slo.generate import main as generate_main
from slo.rules import number
from slo.spec import SPEC_DIR, SpecError, all_slos, load_all, load_file
from svc_kit.services import SERVICES


def test_every_service_has_a_spec_with_the_seed_targets():
    specs = load_all()
    assert [spec.service for spec in specs] == [s.name for s in SERVICES]
    objectives = {slo.name: slo.objective for slo in all_slos(specs)}
    assert objectives["campaign-scheduling"] == Decimal("99.95")
    assert objectives["analytics-batch-processing"] == Decimal("99.5")
    for slo in all_slos(specs):
        assert "{{" not in slo.error("5m") + slo.total("5m")
        assert len(slo.description) > 80, f"{slo.name}: say why this SLO and this target"


def test_budgets_are_exact():
    slo = next(s for s in all_slos(load_all()) if s.name == "campaign-scheduling")
    assert number(slo.error_budget) == "0.0005" and number(slo.objective_ratio) == "0.9995"
    assert number(Decimal("14.4") * slo.error_budget) == "0.0072"


def _copy_specs(tmp_path: Path) -> Path:
    folder = tmp_path / "slo"
    folder.mkdir()
    for path in SPEC_DIR.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


def _edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["slos"][0].update(objective=100), "slos[0] (campaign-scheduling).objective: 100 must be a percentage"),
    (lambda d: d["slos"][0].update(objective="high"), "slos[0] (campaign-scheduling).objective: 'high' is not a number"),
    (lambda d: d["slos"][0]["sli"].update(error_query="sum(rate(x[5m]))"),
     "slos[0] (campaign-scheduling).sli.error_query: must contain {{window}}"),
    (lambda d: d["slos"][0]["sli"].pop("total_query"), "slos[0] (campaign-scheduling).sli.total_query: is required"),
    (lambda d: d["slos"][0].update(target=1), "slos[0].target: unknown field"),
    (lambda d: d["slos"][1].update(name="Campaign API"), "slos[1].name: 'Campaign API' must be kebab-case"),
    (lambda d: d["slos"][1].update(name="campaign-scheduling"), "slo 'campaign-scheduling': the name is already used"),
    (lambda d: d["slos"][0]["alerting"]["annotations"].pop("runbook"),
     "slos[0] (campaign-scheduling).alerting.annotations.runbook: is required"),
    (lambda d: d["slos"][0]["alerting"]["labels"].update(slo_name="x"),
     "slos[0] (campaign-scheduling).alerting.labels.slo_name: is set by the generator"),
    (lambda d: d["slos"][0]["alerting"].update(page_labels={"severity": "ticket"}),
     "alerting.page_labels: must be set and differ from ticket_labels"),
    (lambda d: d.update(service="audience"), "service: 'audience' must match the file name (campaign.yaml)"),
])
def test_a_broken_spec_names_file_and_field(tmp_path, change, message):
    folder = _copy_specs(tmp_path)
    _edit(folder / "campaign.yaml", change)
    with pytest.raises(SpecError) as error:
        load_all(folder)
    assert message in str(error.value)
    assert "campaign.yaml" in str(error.value)


def test_missing_and_stray_specs(tmp_path):
    folder = _copy_specs(tmp_path)
    (folder / "notify.yaml").unlink()
    with pytest.raises(SpecError, match="no SLO spec for notify"):
        load_all(folder)
    shutil.copy(SPEC_DIR / "notify.yaml", folder / "notify.yaml")
    (folder / "billing.yaml").write_text("service: billing\nslos: []\n")
    with pytest.raises(SpecError, match="billing.yaml: not a service of the platform"):
        load_all(folder)


def test_not_yaml(tmp_path):
    path = tmp_path / "campaign.yaml"
    path.write_text("service: [campaign\n")
    with pytest.raises(SpecError, match="campaign.yaml: not valid YAML"):
        load_file(path)


def test_check_mode_exits_0_when_current(capsys):
    assert generate_main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
