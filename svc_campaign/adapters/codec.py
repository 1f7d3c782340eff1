"""Value objects to and from the JSON columns of the campaigns table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Schedule


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def schedule_to_json(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {"start_time": _time(schedule.start_time), "end_time": _time(schedule.end_time),
            "time_zone": schedule.time_zone, "recurrence": schedule.recurrence}


def schedule_from_json(data: dict[str, Any] | None) -> Schedule | None:
    if data is None:
        return None
    parse = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    return Schedule(parse(data["start_time"]), parse(data["end_time"]), data["time_zone"],
                    data.get("recurrence") or "")


def budget_to_json(budget: Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {
        "currency": budget.total.currency,
        "total": str(budget.total.amount),
        "allocations": [
            {"channel": a.channel.value, "currency": a.amount.currency, "amount": str(a.amount.amount)}
            for a in budget.allocations
        ],
    }


def budget_from_json(data: dict[str, Any] | None) -> Budget | None:
    if data is None:
        return None
    return Budget(
        Money(data["currency"], Decimal(data["total"])),
        tuple(ChannelAllocation(Channel(a["channel"]), Money(a["currency"], Decimal(a["amount"])))
              for a in data["allocations"]),
    )


def contents_to_json(contents: tuple[ContentRef, ...]) -> list[dict[str, str]]:
    return [{"channel": c.channel.value, "template": c.template} for c in contents]


def contents_from_json(data: list[dict[str, str]]) -> tuple[ContentRef, ...]:
    return tuple(ContentRef(Channel(c["channel"]), c["template"]) for c in data)
