"""Value objects of the campaign model."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from svc_kit.channels import Channel

__all__ = ["Budget", "Channel", "ChannelAllocation", "ContentRef", "Money", "Schedule", "State"]


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


@dataclass(frozen=True)
class Budget:
    total: Money
    allocations: tuple[ChannelAllocation, ...] = ()

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount.amount for a in self.allocations), Decimal(0))


@dataclass(frozen=True)
class Schedule:
    start_time: datetime | None = None
    end_time: datetime | None = None
    time_zone: str = ""


@dataclass(frozen=True)
class ContentRef:
    channel: Channel
    template: str  # workspaces/{workspace}/templates/{template}
