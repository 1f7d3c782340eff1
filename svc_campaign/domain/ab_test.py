"""A/B tests of a campaign's template variants, pure.

A launch with an A/B test hands its audience over in two passes. The first,
TEST, sends the test share: a member is in it when the hash of the campaign
and the profile id falls below the share, and the same hash picks the
member's variant, so the share is split evenly between the variants (in
expectation, whatever the order of the members) and a member's arm never
changes, however often a page is handed over again. The launch then WAITS
until its decide time (the test share handed over plus `wait`), reading the
test's figures from the analytics service meanwhile when it may decide early
on a significant result. The decision (`decide`) picks the winner; the second
pass, REMAINDER, sends every member outside the test share the winner."""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from svc_campaign.domain.values import AbTest, GoalMetric

CONTROL = "control"
SIGNIFICANCE = 0.05  # as the analytics service's comparisons
MIN_SAMPLE = 100  # delivered messages per arm before a difference can be significant
POLL = timedelta(seconds=30)  # how often a test that may decide early reads its figures


class Phase(enum.Enum):
    TEST = "TEST"  # handing the test share over, each member with their arm's variant
    WAITING = "WAITING"  # for the decide time (or a significant result)
    REMAINDER = "REMAINDER"  # handing the rest over with the winner


class Reason(enum.Enum):
    SIGNIFICANT = "SIGNIFICANT"
    WAIT_ELAPSED = "WAIT_ELAPSED"
    NO_DATA = "NO_DATA"


def control_of(arms: tuple[str, ...] | list[str]) -> str:
    """The variant named `control`, else the first by id (as the analytics service's comparisons)."""
    return CONTROL if CONTROL in arms else min(arms)


def bucket(campaign_id: str, profile_id: str) -> float:
    """A member's place in [0, 1), fixed by the campaign and the profile id."""
    digest = hashlib.blake2b(f"{campaign_id}:{profile_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def arm_of(campaign_id: str, profile_id: str, test_share_percent: float, arms: tuple[str, ...]) -> str | None:
    """The variant a member of the test share gets; None for a member of the remainder."""
    place, share = bucket(campaign_id, profile_id), test_share_percent / 100
    if not arms or place >= share:
        return None
    return arms[min(int(place / share * len(arms)), len(arms) - 1)]


@dataclass(frozen=True)
class VariantFigures:
    variant: str
    sent: int = 0
    delivered: int = 0
    goal_count: int = 0

    @property
    def base(self) -> int:
        """The rate's denominator: messages delivered, or sent when no delivery was reported."""
        return self.delivered or self.sent

    @property
    def rate(self) -> float:
        return self.goal_count / self.base if self.base else 0.0


@dataclass(frozen=True)
class Comparison:
    """A variant against the control on the goal metric."""

    variant: str
    control: str
    p_value: float
    significant: bool


@dataclass(frozen=True)
class Figures:
    """What the analytics service reports on the test: figures per variant, and its comparisons when they
    are on the test's goal metric (missing ones are computed here)."""

    variants: tuple[VariantFigures, ...] = ()
    comparisons: tuple[Comparison, ...] = ()


@dataclass(frozen=True)
class Decision:
    winner: str
    reason: Reason
    decide_time: datetime
    p_value: float
    control: str
    variants: tuple[VariantFigures, ...]


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of a two-proportion z-test; 1 when there is nothing to compare."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / spread
    return math.erfc(z / math.sqrt(2))


def _compare(one: VariantFigures, control: VariantFigures) -> Comparison:
    p = two_proportion_p_value(one.goal_count, one.base, control.goal_count, control.base)
    return Comparison(one.variant, control.variant, p,
                      p < SIGNIFICANCE and one.base >= MIN_SAMPLE and control.base >= MIN_SAMPLE)


def decide(arms: tuple[str, ...], figures: Figures, now: datetime, decide_time: datetime | None,
           when_significant: bool) -> Decision | None:
    """The winner, or None while the test goes on.

    Early (before `decide_time`, with `when_significant`): a variant significantly better than the control
    wins (the best of them); the control wins when every other variant is significantly worse. Once the wait
    is over: the best rate wins, a tie goes to the control (else to the first arm); with no goal event at all
    the control wins (NO_DATA). No `decide_time` (a zero wait) with `when_significant`: only a significant
    result decides."""
    reported = {f.variant: f for f in figures.variants}
    per_arm = tuple(reported.get(a, VariantFigures(a)) for a in arms)
    by_arm = {f.variant: f for f in per_arm}
    control = control_of(arms)
    known = {c.variant: c for c in figures.comparisons if c.control == control and c.variant in by_arm}
    comparisons = {a: known.get(a) or _compare(by_arm[a], by_arm[control]) for a in arms if a != control}

    def decision(winner: str, reason: Reason, p_value: float) -> Decision:
        return Decision(winner, reason, now, p_value, control, per_arm)

    if when_significant:
        better = [a for a, c in comparisons.items() if c.significant and by_arm[a].rate > by_arm[control].rate]
        if better:
            winner = max(better, key=lambda a: (by_arm[a].rate, -arms.index(a)))
            return decision(winner, Reason.SIGNIFICANT, comparisons[winner].p_value)
        if comparisons and all(c.significant and by_arm[a].rate < by_arm[control].rate
                               for a, c in comparisons.items()):
            return decision(control, Reason.SIGNIFICANT, max(c.p_value for c in comparisons.values()))
    if (now < decide_time) if decide_time is not None else when_significant:
        return None
    if not any(f.goal_count for f in per_arm):
        return decision(control, Reason.NO_DATA, 1.0)
    best = max(f.rate for f in per_arm)
    leaders = [a for a in arms if by_arm[a].rate == best]
    winner = control if control in leaders else leaders[0]
    if winner != control:
        p_value = comparisons[winner].p_value
    else:  # against the runner-up
        others = sorted((a for a in arms if a != control), key=lambda a: (-by_arm[a].rate, arms.index(a)))
        p_value = comparisons[others[0]].p_value if others else 1.0
    return decision(winner, Reason.WAIT_ELAPSED, p_value)


@dataclass
class AbTestRun:
    """A launch's A/B test: the campaign's settings as they were at the start, and how far it has come."""

    test_share_percent: float
    wait: timedelta
    goal_metric: GoalMetric = GoalMetric.CLICKS
    decide_when_significant: bool = False
    phase: Phase = Phase.TEST
    arms: tuple[str, ...] = ()  # the template's variants, found at the preflight
    decide_time: datetime | None = None
    decision: Decision | None = None
    checks: int = 0  # figures read while waiting

    @classmethod
    def of(cls, ab_test: AbTest) -> AbTestRun:
        return cls(ab_test.test_share_percent, ab_test.wait, ab_test.goal_metric, ab_test.decide_when_significant)

    def arm_of(self, campaign_id: str, profile_id: str) -> str | None:
        return arm_of(campaign_id, profile_id, self.test_share_percent, self.arms)

    def start_waiting(self, now: datetime) -> None:
        """The test share is handed over: the wait starts (no decide time with a zero wait: only a significant
        result decides)."""
        self.phase = Phase.WAITING
        self.decide_time = now + self.wait if self.wait else None

    def next_check(self, now: datetime) -> datetime:
        """When a waiting test next reads its figures."""
        if self.decide_time is None:
            return now + POLL
        return min(self.decide_time, now + POLL) if self.decide_when_significant else self.decide_time
