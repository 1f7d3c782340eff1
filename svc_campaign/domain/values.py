"""Value objects of the campaign model."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from svc_kit.channels import Channel

__all__ = ["AbTest", "Budget", "Channel", "ChannelAllocation", "ContentRef", "Money", "GoalMetric", "Pacing", "Schedule",
           "State"]


class State(enum.Enum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"  # its launch failed for good (and was compensated); set only by the upkeep

    @property
    def is_final(self) -> bool:
        return self in (State.COMPLETED, State.CANCELLED, State.FAILED)


@dataclass(frozen=True)
class Money:
    currency: str  # ISO 4217
    amount: Decimal

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.currency}"


@dataclass(frozen=True)
class ChannelAllocation:
    channel: Channel
    amount: Money


class Pacing(enum.Enum):
    """How a campaign's sends spread over its window (domain/send_times.py)."""

    NONE = "NONE"  # every message as soon as allowed
    EVEN = "EVEN"  # evenly from the launch's start to the schedule's end
    FRONT_LOADED = "FRONT_LOADED"  # front-heavy: half of the messages in the first quarter


@dataclass(frozen=True)
class Budget:
    total: Money
    allocations: tuple[ChannelAllocation, ...] = ()
    pacing: Pacing = Pacing.NONE

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount.amount for a in self.allocations), Decimal(0))


@dataclass(frozen=True)
class Schedule:
    start_time: datetime | None = None
    end_time: datetime | None = None
    time_zone: str = ""
    send_local_time: time | None = None  # each message at this time of day in its recipient's zone
    max_sends_per_hour: int = 0  # 0: no limit
    recurrence: str = ""  # an RFC 5545 RRULE read in time_zone from start_time (domain/recurrence.py); "" once

    @property
    def recurring(self) -> bool:
        return bool(self.recurrence)


@dataclass(frozen=True)
class ContentRef:
    channel: Channel
    template: str  # workspaces/{workspace}/templates/{template}


class GoalMetric(enum.Enum):
    """What an A/B test's variants are compared on, per delivered message."""

    CLICKS = "CLICKS"
    CONVERSIONS = "CONVERSIONS"
    OPENS = "OPENS"


@dataclass(frozen=True)
class AbTest:
    """A test share of the audience gets the template's variants, split evenly; after `wait` (or as soon as
    the difference is significant, with `decide_when_significant`) the rest gets the winner."""

    test_share_percent: float
    wait: timedelta = timedelta(0)
    goal_metric: GoalMetric = GoalMetric.CLICKS
    decide_when_significant: bool = False
