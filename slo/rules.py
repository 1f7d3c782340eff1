"""Prometheus rules from the SLO specs: recording rules of each SLI's error ratio and budget, and the
multi-window multi-burn-rate alerts of the Google SRE workbook (chapter "Alerting on SLOs").

Per SLO, one rule group `slo-<name>` (rules of a group are evaluated in order, so the alerts see the
ratios of the same evaluation), every series labelled slo_service and slo_name:

    slo:sli_error:ratio_rate<W>        error / total over W in 5m 30m 1h 2h 6h 1d 3d; nothing without traffic
    slo:sli_error:ratio_rate30d        the 5m ratio averaged over 30 days (over the time there was traffic)
    slo:objective:ratio                the objective (0.9995)
    slo:error_budget:ratio             1 - objective (0.0005)
    slo:error_budget_remaining:ratio   1 - ratio_rate30d / budget: 1 untouched, 0 spent, below 0 overspent

Alerts (both named by the spec's alerting.name, told apart by its page_labels and ticket_labels):
    page    error ratio > 14.4 x budget over 1h and 5m, or > 6 x budget over 6h and 30m
    ticket  error ratio > 3 x budget over 1d and 2h, or > 1 x budget over 3d and 6h
"""

from __future__ import annotations

from decimal import Decimal

import yaml

from slo.spec import BUDGET_PERIOD, WINDOWS, Slo

# (burn rate, long window, short window): the alert fires while both windows burn faster than the rate.
PAGE_POLICY = ((Decimal("14.4"), "1h", "5m"), (Decimal("6"), "6h", "30m"))
TICKET_POLICY = ((Decimal("3"), "1d", "2h"), (Decimal("1"), "3d", "6h"))

SLI_ERROR = "slo:sli_error:ratio_rate{window}"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
BUDGET_REMAINING = "slo:error_budget_remaining:ratio"


def number(value: Decimal) -> str:
    """A Decimal as PromQL writes it: 0.0005, 14.4, 6 (never 5E-4)."""
    text = format(value.normalize(), "f")
    return text


def sli_error(window: str) -> str:
    return SLI_ERROR.format(window=window)


def _labels(slo: Slo) -> dict[str, str]:
    return {"slo_service": slo.service, "slo_name": slo.name}


def _burn_condition(slo: Slo, policy) -> str:
    budget = number(slo.error_budget)
    terms = []
    for rate, long, short in policy:
        threshold = f"({number(rate)} * {budget})"
        terms.append(f"(\n  {sli_error(long)}{{{slo.selector}}} > {threshold}\n"
                     f"and\n  {sli_error(short)}{{{slo.selector}}} > {threshold}\n)")
    return "\nor\n".join(terms) + "\n"


def _policy_text(policy) -> str:
    return " or ".join(f"{number(rate)}x over {long} and {short}" for rate, long, short in policy)


def _alert(slo: Slo, kind: str, policy, extra_labels: dict[str, str]) -> dict:
    alerting = slo.alerting
    annotations = dict(alerting.annotations)
    annotations.setdefault(
        "description",
        f"{slo.service}/{slo.name} ({number(slo.objective)}% objective): the error budget burns faster than "
        f"{_policy_text(policy)} ({kind}); error ratio over the long window "
        "{{ $value | humanizePercentage }}.")
    return {
        "alert": alerting.name,
        "expr": _burn_condition(slo, policy),
        "labels": {**alerting.labels, **extra_labels, **_labels(slo)},
        "annotations": annotations,
    }


def slo_group(slo: Slo) -> dict:
    labels = _labels(slo)
    rules: list[dict] = []
    for window in WINDOWS:
        rules.append({
            "record": sli_error(window),
            "expr": f"({slo.error(window)})\n/\n(({slo.total(window)}) > 0)\n",
            "labels": dict(labels),
        })
    rules.append({
        "record": sli_error(BUDGET_PERIOD),
        "expr": f"avg_over_time({sli_error(WINDOWS[0])}{{{slo.selector}}}[{BUDGET_PERIOD}])",
        "labels": dict(labels),
    })
    rules.append({"record": OBJECTIVE, "expr": f"vector({number(slo.objective_ratio)})", "labels": dict(labels)})
    rules.append({"record": ERROR_BUDGET, "expr": f"vector({number(slo.error_budget)})", "labels": dict(labels)})
    rules.append({
        "record": BUDGET_REMAINING,
        "expr": f"1 - {sli_error(BUDGET_PERIOD)}{{{slo.selector}}} / {number(slo.error_budget)}",
        "labels": dict(labels),
    })
    rules.append(_alert(slo, "page", PAGE_POLICY, slo.alerting.page_labels))
    rules.append(_alert(slo, "ticket", TICKET_POLICY, slo.alerting.ticket_labels))
    return {"name": f"slo-{slo.name}", "rules": rules}


def rule_groups(slos: list[Slo]) -> dict:
    """A Prometheus rule file's content (also a PrometheusRule's spec)."""
    return {"groups": [slo_group(slo) for slo in slos]}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120,
                     allow_unicode=True)
