"""SLO specs: `slo/<service>.yaml`, one per service, loaded and checked.

A spec names its service and lists SLOs; each SLO is an objective (percent), a description (why this
SLO and this target), an SLI written as an error query over a total query (PromQL with `{{window}}`
where the range goes), and how its alerts are named and labelled:

    service: campaign
    slos:
      - name: campaign-scheduling          # unique across every spec, kebab-case
        objective: 99.95                   # percent, strictly between 0 and 100
        description: ...
        sli:
          error_query: '(sum(rate(...[{{window}}])) or vector(0))'
          total_query: 'sum(rate(...[{{window}}]))'
        alerting:
          name: CampaignSchedulingBudgetBurn
          labels: {team: campaigns}
          page_labels: {severity: page}
          ticket_labels: {severity: ticket}
          annotations: {summary: ..., runbook: docs/slo.md#campaign-scheduling}

Both queries must return one series without labels (a `sum` without `by`); the error query must
return 0, not nothing, when there is traffic and no error (`or vector(0)`). A mistake raises
SpecError naming the file and the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from svc_kit.services import SERVICES

SPEC_DIR = Path(__file__).resolve().parent
WINDOW_PLACEHOLDER = "{{window}}"
# The SLI's error ratio is recorded over each of these (the burn-rate alerts' windows).
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# The error budget is spent over this period (slo:sli_error:ratio_rate30d, slo:error_budget_remaining:ratio).
BUDGET_PERIOD = "30d"

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RESERVED_LABELS = {"alertname", "alertstate", "slo_service", "slo_name", "__name__"}
_REQUIRED_ANNOTATIONS = ("summary", "runbook")


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Alerting:
    name: str
    labels: dict[str, str]
    page_labels: dict[str, str]
    ticket_labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class Slo:
    service: str
    name: str
    objective: Decimal  # percent, as written (99.95)
    description: str
    error_query: str
    total_query: str
    alerting: Alerting
    source: Path = field(compare=False)

    @property
    def objective_ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def error_budget(self) -> Decimal:
        """The share of events that may fail: 1 - objective (0.0005 for 99.95%), exact."""
        return 1 - self.objective_ratio

    def error(self, window: str) -> str:
        return self.error_query.replace(WINDOW_PLACEHOLDER, window)

    def total(self, window: str) -> str:
        return self.total_query.replace(WINDOW_PLACEHOLDER, window)

    @property
    def selector(self) -> str:
        """Matchers of this SLO's recorded series."""
        return f'slo_service="{self.service}", slo_name="{self.name}"'


@dataclass(frozen=True)
class ServiceSlos:
    service: str
    slos: tuple[Slo, ...]
    source: Path


def _where(path: Path) -> str:
    try:
        return str(path.relative_to(SPEC_DIR.parent))
    except ValueError:
        return str(path)


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str):
        raise SpecError(f"{_where(self.path)}: {where}: {problem}" if where else f"{_where(self.path)}: {problem}")

    def mapping(self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(where or "<top>", f"must be a mapping, not {type(value).__name__}")
        unknown = sorted(set(value) - set(required) - set(optional), key=str)
        if unknown:
            self.fail(f"{where}.{unknown[0]}" if where else str(unknown[0]),
                      f"unknown field (allowed: {', '.join((*required, *optional))})")
        for key in required:
            if key not in value:
                self.fail(f"{where}.{key}" if where else key, "is required")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "must be a non-empty string")
        return value.strip()

    def labels(self, value: Any, where: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(where, "must be a mapping of label names to strings")
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _LABEL_NAME.match(key):
                self.fail(f"{where}.{key}", "is not a valid Prometheus label name")
            if key in _RESERVED_LABELS:
                self.fail(f"{where}.{key}", "is set by the generator")
            if not isinstance(item, str) or not item:
                self.fail(f"{where}.{key}", "must be a non-empty string")
            result[key] = item
        return result

    def query(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        if WINDOW_PLACEHOLDER not in text:
            self.fail(where, f"must contain {WINDOW_PLACEHOLDER} where the range goes (e.g. [{WINDOW_PLACEHOLDER}])")
        rest = text.replace(WINDOW_PLACEHOLDER, "5m")
        if "{{" in rest or "}}" in rest:
            self.fail(where, f"has a placeholder other than {WINDOW_PLACEHOLDER}")
        return " ".join(text.split())


def load_file(path: Path) -> ServiceSlos:
    path = Path(path)
    reader = _Reader(path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{_where(path)}: not valid YAML: {error}") from None
    top = reader.mapping(document, "", ("service", "slos"))
    service = reader.text(top["service"], "service")
    known = [spec.name for spec in SERVICES]
    if service not in known:
        reader.fail("service", f"{service!r} is not one of the platform's services ({', '.join(known)})")
    if path.stem != service:
        reader.fail("service", f"{service!r} must match the file name ({path.stem}.yaml)")
    if not isinstance(top["slos"], list) or not top["slos"]:
        reader.fail("slos", "must be a non-empty list")
    slos = []
    for index, raw in enumerate(top["slos"]):
        where = f"slos[{index}]"
        entry = reader.mapping(raw, where, ("name", "objective", "description", "sli", "alerting"))
        name = reader.text(entry["name"], f"{where}.name")
        if not _NAME.match(name):
            reader.fail(f"{where}.name", f"{name!r} must be kebab-case (a-z, 0-9 and single dashes)")
        where = f"slos[{index}] ({name})"
        objective = entry["objective"]
        if isinstance(objective, bool) or not isinstance(objective, (int, float, str)):
            reader.fail(f"{where}.objective", "must be a number of percent, e.g. 99.9")
        try:
            percent = Decimal(str(objective))
        except InvalidOperation:
            reader.fail(f"{where}.objective", f"{objective!r} is not a number")
        if not percent.is_finite() or not 0 < percent < 100:
            reader.fail(f"{where}.objective", f"{objective} must be a percentage strictly between 0 and 100")
        sli = reader.mapping(entry["sli"], f"{where}.sli", ("error_query", "total_query"))
        alerting = reader.mapping(entry["alerting"], f"{where}.alerting", ("name", "annotations"),
                                  ("labels", "page_labels", "ticket_labels"))
        alert_name = reader.text(alerting["name"], f"{where}.alerting.name")
        if not _ALERT_NAME.match(alert_name):
            reader.fail(f"{where}.alerting.name", f"{alert_name!r} must be CamelCase letters and digits")
        annotations = alerting["annotations"]
        if not isinstance(annotations, dict):
            reader.fail(f"{where}.alerting.annotations", "must be a mapping")
        for key in _REQUIRED_ANNOTATIONS:
            if key not in annotations:
                reader.fail(f"{where}.alerting.annotations.{key}", "is required")
        page = reader.labels(alerting.get("page_labels"), f"{where}.alerting.page_labels")
        ticket = reader.labels(alerting.get("ticket_labels"), f"{where}.alerting.ticket_labels")
        if not page or page == ticket:
            reader.fail(f"{where}.alerting.page_labels", "must be set and differ from ticket_labels "
                        "(e.g. severity: page and severity: ticket)")
        slos.append(Slo(
            service=service, name=name, objective=percent,
            description=" ".join(reader.text(entry["description"], f"{where}.description").split()),
            error_query=reader.query(sli["error_query"], f"{where}.sli.error_query"),
            total_query=reader.query(sli["total_query"], f"{where}.sli.total_query"),
            alerting=Alerting(
                name=alert_name,
                labels=reader.labels(alerting.get("labels"), f"{where}.alerting.labels"),
                page_labels=page, ticket_labels=ticket,
                annotations={key: " ".join(reader.text(value, f"{where}.alerting.annotations.{key}").split())
                             for key, value in annotations.items()}),
            source=path))
    return ServiceSlos(service, tuple(slos), path)


def load_all(folder: Path = SPEC_DIR) -> list[ServiceSlos]:
    """Every service's spec, in the platform's service order; every service must have one, and SLO
    and alert names are unique across them."""
    folder = Path(folder)
    known = [spec.name for spec in SERVICES]
    files = {path.stem: path for path in sorted(folder.glob("*.yaml"))}
    stray = sorted(set(files) - set(known))
    if stray:
        raise SpecError(f"{_where(files[stray[0]])}: not a service of the platform ({', '.join(known)})")
    missing = [name for name in known if name not in files]
    if missing:
        raise SpecError(f"{_where(folder)}: no SLO spec for {', '.join(missing)} "
                        f"(expected {', '.join(f'{name}.yaml' for name in missing)})")
    specs = [load_file(files[name]) for name in known]
    names: dict[str, Path] = {}
    alerts: dict[str, Path] = {}
    for spec in specs:
        for slo in spec.slos:
            if slo.name in names:
                raise SpecError(f"{_where(slo.source)}: slo {slo.name!r}: the name is already used in "
                                f"{_where(names[slo.name])}")
            if slo.alerting.name in alerts:
                raise SpecError(f"{_where(slo.source)}: slo {slo.name!r}: alerting.name {slo.alerting.name!r} "
                                f"is already used in {_where(alerts[slo.alerting.name])}")
            names[slo.name], alerts[slo.alerting.name] = slo.source, slo.source
    return specs


def all_slos(specs: list[ServiceSlos]) -> list[Slo]:
    return [slo for spec in specs for slo in spec.slos]
