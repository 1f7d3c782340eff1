"""Invariants that hold for every campaign, drafts included. Each check returns
field violations named by their path in the API (`campaign.budget.total`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.errors import FieldViolation
from svc_kit.names import WORKSPACE_ID, ResourceNameError, parse_name

from svc_campaign.domain import recurrence
from svc_campaign.domain.values import Budget, Channel, ContentRef, Schedule

MAX_DISPLAY_NAME = 200
MAX_DESCRIPTION = 5000
MAX_LABELS = 64
MAX_REFERENCES = 50
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-zA-Z0-9_.-]{0,63}")
CURRENCY = re.compile(r"[A-Z]{3}")

_P = "campaign."


def check_display_name(value: str) -> list[FieldViolation]:
    if not value.strip():
        return [FieldViolation(_P + "display_name", "required: give the campaign a name")]
    if len(value) > MAX_DISPLAY_NAME:
        return [FieldViolation(_P + "display_name", f"at most {MAX_DISPLAY_NAME} characters, got {len(value)}")]
    return []


def check_description(value: str) -> list[FieldViolation]:
    if len(value) > MAX_DESCRIPTION:
        return [FieldViolation(_P + "description", f"at most {MAX_DESCRIPTION} characters, got {len(value)}")]
    return []


def check_channels(channels: Iterable[Channel]) -> list[FieldViolation]:
    seen: set[Channel] = set()
    for channel in channels:
        if channel in seen:
            return [FieldViolation(_P + "channels", f"{channel.value} is listed twice")]
        seen.add(channel)
    return []


def check_labels(labels: Mapping[str, str]) -> list[FieldViolation]:
    out = []
    if len(labels) > MAX_LABELS:
        out.append(FieldViolation(_P + "labels", f"at most {MAX_LABELS} labels, got {len(labels)}"))
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            out.append(FieldViolation(f"{_P}labels[{key!r}]", "key must be 1-63 characters [a-z][a-z0-9_-]*"))
        elif not LABEL_VALUE.fullmatch(value):
            out.append(FieldViolation(f"{_P}labels[{key!r}]", "value must be at most 63 characters [a-zA-Z0-9_.-]"))
    return out


def check_schedule(schedule: Schedule | None) -> list[FieldViolation]:
    if schedule is None:
        return []
    out = []
    if schedule.time_zone:
        try:
            ZoneInfo(schedule.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            out.append(FieldViolation(_P + "schedule.time_zone",
                                      f"{schedule.time_zone!r} is not an IANA time zone such as Europe/Paris"))
    if schedule.start_time and schedule.end_time and schedule.end_time <= schedule.start_time:
        out.append(FieldViolation(_P + "schedule.end_time", "must be after schedule.start_time"))
    out += recurrence.violations(schedule.recurrence, schedule.start_time, schedule.time_zone, schedule.end_time)
    return out


def check_money(field: str, currency: str, amount: Decimal) -> list[FieldViolation]:
    if not CURRENCY.fullmatch(currency):
        return [FieldViolation(field + ".currency_code", f"{currency!r} is not an ISO 4217 code such as EUR")]
    if amount < 0:
        return [FieldViolation(field, "must not be negative")]
    return []


def check_budget(budget: Budget | None) -> list[FieldViolation]:
    if budget is None:
        return []
    field = _P + "budget"
    out = check_money(field + ".total", budget.total.currency, budget.total.amount)
    seen: set[Channel] = set()
    for i, allocation in enumerate(budget.allocations):
        at = f"{field}.allocations[{i}]"
        out += check_money(at + ".amount", allocation.amount.currency, allocation.amount.amount)
        if allocation.amount.currency != budget.total.currency:
            out.append(FieldViolation(at + ".amount.currency_code",
                                      f"{allocation.amount.currency} differs from the budget's {budget.total.currency}"))
        if allocation.channel in seen:
            out.append(FieldViolation(at + ".channel", f"{allocation.channel.value} is allocated twice"))
        seen.add(allocation.channel)
    if not out and budget.allocated > budget.total.amount:
        allocated = f"{budget.allocated.normalize():f} {budget.total.currency}"
        out.append(FieldViolation(field + ".allocations",
                                  f"channel allocations add up to {allocated}, more than the total {budget.total}"))
    return out


def check_references(
    field: str, names: Iterable[str], collection: str, workspace: str, suffix: str = ""
) -> list[FieldViolation]:
    names = list(names)
    out = []
    if len(names) > MAX_REFERENCES:
        out.append(FieldViolation(_P + field, f"at most {MAX_REFERENCES} entries, got {len(names)}"))
    seen: set[str] = set()
    for i, name in enumerate(names):
        at = f"{_P}{field}[{i}]{suffix}"
        try:
            ws, _ = parse_name(name, collection)
        except ResourceNameError as error:
            out.append(FieldViolation(at, str(error)))
            continue
        if ws != workspace:
            out.append(FieldViolation(at, f"must belong to workspace {workspace!r}"))
        if name in seen:
            out.append(FieldViolation(at, f"{name} is listed twice"))
        seen.add(name)
    return out


def check_contents(contents: Iterable[ContentRef], workspace: str) -> list[FieldViolation]:
    contents = list(contents)
    out = check_references("contents", (c.template for c in contents), "templates", workspace, ".template")
    seen: set[Channel] = set()
    for i, ref in enumerate(contents):
        if ref.channel in seen:
            out.append(FieldViolation(f"{_P}contents[{i}].channel", f"{ref.channel.value} has content twice"))
        seen.add(ref.channel)
    return out


def check_workspace(workspace: str) -> list[FieldViolation]:
    if not WORKSPACE_ID.fullmatch(workspace):
        return [FieldViolation("parent", "workspace id must be 1-63 characters [a-z][a-z0-9-]*")]
    return []
