"""What a campaign's delivery tally means for it: whether every message is
final and the window is over (it completes), and which channels spent their
allocation (it pauses with reason BUDGET_EXHAUSTED until the budget is raised).
Pure: the tally comes from notify's delivery events (adapters/delivery_tally.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from svc_campaign.domain.launch import Launch, LaunchState
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import Budget, Channel, Money, State

BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
MICROS = Decimal(1_000_000)

# notify event type -> whether the message is final after it (None: says nothing about the message)
QUEUED, SENT = "message_queued", "message_sent"
FINAL_EVENTS = frozenset({"message_delivered", "message_bounced", "message_failed", "message_suppressed",
                          "message_cancelled"})


def finality(event_type: str) -> bool | None:
    if event_type in FINAL_EVENTS:
        return True
    if event_type in (QUEUED, SENT):
        return False
    return None


@dataclass(frozen=True)
class Spend:
    channel: Channel
    currency: str
    sent: int
    micros: int

    @property
    def money(self) -> Money:
        return Money(self.currency, Decimal(self.micros) / MICROS)


@dataclass(frozen=True)
class Tally:
    """A campaign's messages as the events seen so far report them."""

    known: int = 0  # distinct messages any event named
    final: int = 0
    spend: tuple[Spend, ...] = field(default_factory=tuple)

    def spent(self, currency: str, channel: Channel | None = None) -> Decimal:
        return sum((s.money.amount for s in self.spend
                    if s.currency == currency and (channel is None or s.channel is channel)), Decimal(0))


def handed_over(launch: Launch) -> int:
    """Messages the launch made in notify: those it created and those a retried page found there already."""
    return sum(t.sent + t.duplicates for t in launch.targets)


def is_complete(campaign: Campaign, launch: Launch | None, tally: Tally, now: datetime,
                handed_over_total: int | None = None, earlier_runs_live: bool = False) -> bool:
    """RUNNING, its launch has handed over every message, each of them is final and the window is over.

    For a recurring campaign `launch` is its newest run's and the window is over once the rule has no
    occurrence left (COUNT, UNTIL or end_time reached); no earlier run may still be sending, and
    `handed_over_total` counts the messages of every run."""
    if campaign.state is not State.RUNNING or campaign.deleted or launch is None:
        return False
    if launch.state is not LaunchState.COMPLETED:
        return False
    if campaign.recurring:
        if earlier_runs_live or campaign.has_more_runs:
            return False
    else:
        end = campaign.fields.schedule.end_time if campaign.fields.schedule else None
        if end is not None and end > now:
            return False
    total = handed_over(launch) if handed_over_total is None else handed_over_total
    return tally.known >= total and tally.final == tally.known


def launch_failed(launch: Launch | None) -> bool:
    """The launch failed for good and its compensations are made (COMPENSATING is not yet FAILED)."""
    return launch is not None and launch.state is LaunchState.FAILED


def exhausted_channels(budget: Budget | None, tally: Tally) -> list[Channel]:
    """Channels whose spend reached their allocation; every spending channel once the total is reached.
    A zero amount sets no limit."""
    if budget is None:
        return []
    exhausted = {a.channel for a in budget.allocations
                 if a.amount.amount > 0 and tally.spent(a.amount.currency, a.channel) >= a.amount.amount}
    if budget.total.amount > 0 and tally.spent(budget.total.currency) >= budget.total.amount:
        exhausted |= {s.channel for s in tally.spend}
    return sorted(exhausted, key=lambda c: c.value)
