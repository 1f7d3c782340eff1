"""Value objects to and from the JSON columns of the campaigns table."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from svc_campaign.domain.ab_test import AbTestRun, Decision, Phase, Reason, VariantFigures
from svc_campaign.domain.values import (AbTest, Budget, Channel, ChannelAllocation, ContentRef, GoalMetric, Money,
                                        Pacing, Schedule)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def schedule_to_json(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {"start_time": _time(schedule.start_time), "end_time": _time(schedule.end_time),
            "time_zone": schedule.time_zone, "send_local_time": time_of_day_to_text(schedule.send_local_time),
            "max_sends_per_hour": schedule.max_sends_per_hour, "recurrence": schedule.recurrence}


def time_of_day_to_text(value: time | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_of_day_from_text(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def schedule_from_json(data: dict[str, Any] | None) -> Schedule | None:
    if data is None:
        return None
    parse = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    return Schedule(parse(data["start_time"]), parse(data["end_time"]), data["time_zone"],
                    time_of_day_from_text(data.get("send_local_time")), data.get("max_sends_per_hour", 0),
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
        "pacing": budget.pacing.value,
    }


def budget_from_json(data: dict[str, Any] | None) -> Budget | None:
    if data is None:
        return None
    return Budget(
        Money(data["currency"], Decimal(data["total"])),
        tuple(ChannelAllocation(Channel(a["channel"]), Money(a["currency"], Decimal(a["amount"])))
              for a in data["allocations"]),
        Pacing(data.get("pacing", Pacing.NONE.value)),
    )


def contents_to_json(contents: tuple[ContentRef, ...]) -> list[dict[str, str]]:
    return [{"channel": c.channel.value, "template": c.template} for c in contents]


def contents_from_json(data: list[dict[str, str]]) -> tuple[ContentRef, ...]:
    return tuple(ContentRef(Channel(c["channel"]), c["template"]) for c in data)


def ab_test_to_json(ab_test: AbTest | None) -> dict[str, Any] | None:
    if ab_test is None:
        return None
    return {"test_share_percent": ab_test.test_share_percent, "wait_seconds": ab_test.wait.total_seconds(),
            "goal_metric": ab_test.goal_metric.value, "decide_when_significant": ab_test.decide_when_significant}


def ab_test_from_json(data: dict[str, Any] | None) -> AbTest | None:
    if data is None:
        return None
    return AbTest(float(data["test_share_percent"]), timedelta(seconds=data.get("wait_seconds", 0)),
                  GoalMetric(data.get("goal_metric", GoalMetric.CLICKS.value)),
                  bool(data.get("decide_when_significant", False)))


def decision_to_json(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {"winner": decision.winner, "reason": decision.reason.value, "decide_time": _time(decision.decide_time),
            "p_value": decision.p_value, "control": decision.control,
            "variants": [{"variant": f.variant, "sent": f.sent, "delivered": f.delivered, "goal_count": f.goal_count}
                         for f in decision.variants]}


def decision_from_json(data: dict[str, Any] | None) -> Decision | None:
    if data is None:
        return None
    return Decision(data["winner"], Reason(data["reason"]), datetime.fromisoformat(data["decide_time"]),
                    float(data["p_value"]), data["control"],
                    tuple(VariantFigures(f["variant"], f["sent"], f["delivered"], f["goal_count"])
                          for f in data["variants"]))


def ab_run_to_json(run: AbTestRun | None) -> dict[str, Any] | None:
    """A launch's A/B test (the campaign_launches.ab_test column)."""
    if run is None:
        return None
    return {**ab_test_to_json(AbTest(run.test_share_percent, run.wait, run.goal_metric,
                                     run.decide_when_significant)),
            "phase": run.phase.value, "arms": list(run.arms), "decide_time": _time(run.decide_time),
            "decision": decision_to_json(run.decision), "checks": run.checks}


def ab_run_from_json(data: dict[str, Any] | None) -> AbTestRun | None:
    if data is None:
        return None
    run = AbTestRun.of(ab_test_from_json(data))
    run.phase, run.arms = Phase(data["phase"]), tuple(data["arms"])
    run.decide_time = datetime.fromisoformat(data["decide_time"]) if data.get("decide_time") else None
    run.decision, run.checks = decision_from_json(data.get("decision")), data.get("checks", 0)
    return run
