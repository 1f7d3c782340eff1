"""`mkt slo status`: every SLO's state, read from the recording rules and alerts of slo.generate in a
running Prometheus (the one `make run` starts, MKT_PROMETHEUS_URL, or --prometheus).

One row per SLO: service, SLO, objective, the SLI and the error budget left over the budget period
(30 days: the 5m error ratio averaged over the time with traffic, slo:sli_error:ratio_rate30d), the
burn rates over 5m, 1h, 6h and 3d (error ratio / error budget: 1 spends the budget exactly in 30 days,
14.4 spends 2% of it in an hour) and the burn-rate alerts firing (page, ticket)."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from slo.config import PROMETHEUS_URL
from slo.rules import BUDGET_REMAINING, ERROR_BUDGET, OBJECTIVE, sli_error
from slo.spec import BUDGET_PERIOD, SpecError, all_slos, load_all
from svc_kit.settings_spec import ConfigError

BURN_WINDOWS = ("5m", "1h", "6h", "3d")
TIMEOUT_SECONDS = 5.0


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused a query."""


@dataclass
class Row:
    service: str
    slo: str
    objective: float | None = None
    error_ratio: float | None = None  # over BUDGET_PERIOD
    budget_left: float | None = None
    budget: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    firing: set[str] = field(default_factory=set)

    def burn(self, window: str) -> float | None:
        ratio = self.ratios.get(window)
        if ratio is None or not self.budget:
            return None
        return ratio / self.budget


class Prometheus:
    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expr: str) -> list[dict]:
        """An instant query's vector: [{"metric": {...}, "value": [time, "text"]}, ...]."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise PrometheusError(f"Prometheus at {self.url} refused the query {expr!r}: HTTP {error.code} {detail}")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {reason}") from None
        except ValueError:
            raise PrometheusError(f"{self.url} did not answer like Prometheus (no JSON from /api/v1/query)") from None
        if body.get("status") != "success":
            raise PrometheusError(f"Prometheus at {self.url} refused the query {expr!r}: {body.get('error')}")
        data = body.get("data", {})
        if data.get("resultType") != "vector":
            raise PrometheusError(f"Prometheus at {self.url}: {expr!r} is not a vector")
        return data.get("result", [])


def _by_slo(samples: list[dict]) -> dict[tuple[str, str], float]:
    values = {}
    for sample in samples:
        metric = sample["metric"]
        key = (metric.get("slo_service", ""), metric.get("slo_name", ""))
        if key[1]:
            values[key] = float(sample["value"][1])
    return values


def collect(prometheus: Prometheus) -> list[Row]:
    """The rows: the SLOs of slo/*.yaml in spec order, then any other SLO this Prometheus records."""
    rows: dict[tuple[str, str], Row] = {}
    try:
        for slo in all_slos(load_all()):
            rows[(slo.service, slo.name)] = Row(slo.service, slo.name)
    except SpecError:
        pass  # a broken spec is the generator's business; show what Prometheus has

    def row(key: tuple[str, str]) -> Row:
        if key not in rows:
            rows[key] = Row(*key)
        return rows[key]

    for key, value in _by_slo(prometheus.query(OBJECTIVE)).items():
        row(key).objective = value
    for key, value in _by_slo(prometheus.query(ERROR_BUDGET)).items():
        row(key).budget = value
    for key, value in _by_slo(prometheus.query(sli_error(BUDGET_PERIOD))).items():
        row(key).error_ratio = value
    for key, value in _by_slo(prometheus.query(BUDGET_REMAINING)).items():
        row(key).budget_left = value
    for window in BURN_WINDOWS:
        for key, value in _by_slo(prometheus.query(sli_error(window))).items():
            row(key).ratios[window] = value
    for sample in prometheus.query('ALERTS{alertstate="firing", slo_name!=""}'):
        metric = sample["metric"]
        key = (metric.get("slo_service", ""), metric["slo_name"])
        row(key).firing.add(metric.get("severity") or metric.get("alertname", "alert"))
    return list(rows.values())


def _percent(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _burn(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(rows: list[Row]) -> str:
    header = ["SERVICE", "SLO", "OBJECTIVE", f"SLI {BUDGET_PERIOD}", "BUDGET LEFT",
              *(f"BURN {w}" for w in BURN_WINDOWS), "FIRING"]
    lines = [header]
    for row in rows:
        objective = "-" if row.objective is None else f"{row.objective * 100:g}%"
        sli = None if row.error_ratio is None else 1 - row.error_ratio
        lines.append([row.service, row.slo, objective, _percent(sli), _percent(row.budget_left, 1),
                      *(_burn(row.burn(w)) for w in BURN_WINDOWS), ", ".join(sorted(row.firing)) or "-"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "slo", help="service level objectives: their state in Prometheus",
        description="The platform's SLOs (slo/<service>.yaml, docs/slo.md) as a running Prometheus records them.")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status", help="print each SLO's SLI, objective, budget left, burn rates and firing alerts",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "))
    status.add_argument("--prometheus", metavar="URL",
                        help=f"Prometheus's base URL (default: $MKT_PROMETHEUS_URL, else {PROMETHEUS_URL.default})")
    status.set_defaults(run=run)


def run(args) -> int:
    if args.prometheus:
        url = args.prometheus
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            print(f"mkt slo status: --prometheus {url!r} is not an http(s)://host:port URL", file=sys.stderr)
            return 2
    else:
        try:
            url = PROMETHEUS_URL.read(os.environ)
        except ConfigError as error:
            print(f"mkt slo status: {error}", file=sys.stderr)
            return 2
    try:
        rows = collect(Prometheus(url))
    except PrometheusError as error:
        print(f"mkt slo status: {error} (is it running? `make run` starts one; "
              f"--prometheus URL or {PROMETHEUS_URL.name} points elsewhere)", file=sys.stderr)
        return 1
    if all(row.objective is None for row in rows):
        print(f"mkt slo status: Prometheus at {url.rstrip('/')} records no SLO: load deploy/prometheus/*.rules.yaml "
              "(rule_files in its configuration; `make run` does)", file=sys.stderr)
        return 1
    print(f"SLOs in Prometheus at {url.rstrip('/')} (SLI and budget over {BUDGET_PERIOD}; "
          "burn rate = error ratio / error budget)")
    print(table(rows))
    if any(row.error_ratio is None for row in rows):
        print("\n-: no traffic yet in that window (no ratio is recorded without traffic)")
    return 0
