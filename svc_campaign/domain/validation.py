"""Invariants that hold for every campaign, drafts included. Each check returns
field violations named by their path in the API (`campaign.budget.total`).

The rules on one field alone (lengths, label keys and values, at most 50 segments and contents, no
channel twice, the test share strictly between 0 and 100, a throttle that is not negative) live in the
protos as `buf.validate` annotations and are enforced on every request by the server interceptor
(svc_kit.validation); the checks here need more than one field, or parse a value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.errors import FieldViolation
from svc_kit.names import WORKSPACE_ID, ResourceNameError, parse_name

from svc_campaign.domain import recurrence
from svc_campaign.domain.values import AbTest, Budget, Channel, ContentRef, Pacing, Schedule

CURRENCY = re.compile(r"[A-Z]{3}")
# A window with a local send time lasts at least this long: a day, so that every zone's occurrence of the
# time lies in it, plus an hour for a day that a daylight-saving change makes 25 hours long.
LOCAL_TIME_WINDOW = timedelta(hours=25)

_P = "campaign."


def check_display_name(value: str) -> list[FieldViolation]:
    if not value.strip():
        return [FieldViolation(_P + "display_name", "required: give the campaign a name")]
    return []


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


def check_send_times(schedule: Schedule | None, budget: Budget | None) -> list[FieldViolation]:
    """When messages go out: send at local time, throttle and pacing, and how they combine."""
    schedule = schedule or Schedule()
    pacing = budget.pacing if budget else Pacing.NONE
    out = []
    if pacing is not Pacing.NONE and schedule.end_time is None:
        out.append(FieldViolation(_P + "budget.pacing",
                                  f"PACING_{pacing.value} needs schedule.end_time: it spreads the sends up to it"))
    if pacing is not Pacing.NONE and schedule.recurrence:
        out.append(FieldViolation(_P + "budget.pacing",
                                  f"PACING_{pacing.value} spreads one send over the whole window and cannot be "
                                  "combined with schedule.recurrence (one run per occurrence); use "
                                  "schedule.max_sends_per_hour to spread each run"))
    if schedule.send_local_time is not None:
        if pacing is not Pacing.NONE:
            out.append(FieldViolation(_P + "schedule.send_local_time",
                                      f"cannot be combined with budget.pacing PACING_{pacing.value}: the recipients' "
                                      "local time decides when each message goes"))
        if schedule.max_sends_per_hour:
            out.append(FieldViolation(_P + "schedule.send_local_time",
                                      "cannot be combined with schedule.max_sends_per_hour"))
        if schedule.start_time and schedule.end_time and (
                schedule.start_time < schedule.end_time < schedule.start_time + LOCAL_TIME_WINDOW):
            out.append(FieldViolation(_P + "schedule.end_time",
                                      "with schedule.send_local_time the window from start_time to end_time must "
                                      "last at least 25 hours, so that every time zone's "
                                      f"{schedule.send_local_time.isoformat()} lies inside it"))
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
    out = []
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


def check_ab_test(ab_test: AbTest | None, contents: tuple[ContentRef, ...]) -> list[FieldViolation]:
    if ab_test is None:
        return []
    field = _P + "ab_test"
    out = []
    if ab_test.wait.total_seconds() < 0:
        out.append(FieldViolation(field + ".wait", "must not be negative"))
    elif not ab_test.wait and not ab_test.decide_when_significant:
        out.append(FieldViolation(field + ".wait", "required (for example 3600s) unless decide_when_significant "
                                                   "is set: the test needs time to show a winner"))
    if len(contents) > 1:
        out.append(FieldViolation(field, f"an A/B test needs a campaign with one content (one template), this one "
                                         f"has {len(contents)}"))
    return out
