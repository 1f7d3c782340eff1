"""The launch of a started campaign, as a resumable plan: one target per
target segment and channel, each moving from a snapshot to pages of messages
handed to the notify service. Pure: the runner does the talking and feeds the
outcomes back here.

The campaign's lifecycle reaches the messages already handed over too: a
pause holds them in the notify service, a resume releases them, a cancel
cancels those no provider has yet. The campaign's state is the source of
truth: its change is recorded here as a pending action, which the runner
makes until the notify service answers.

The launch is a saga with a persisted step log (`steps`): freeze each
target's audience snapshot, preflight-render one member per target's
template, schedule the deliveries in the notify service a page at a time,
initialise tracking. Each step is idempotent and recorded with its time and
outcome. A step that fails for good makes the launch COMPENSATING: the
compensations run in reverse (void tracking, cancel the messages queued in
notify, release the snapshots), each recorded, and the launch ends FAILED
naming the failed step and the reason.

With an A/B test (`ab`, domain/ab_test.py) the targets are handed over in
two passes: the test share with each member's variant, then, once
DECIDE_AB_TEST chose the winner (at the decide time, or earlier on a
significant result), the rest with the winner. The decide time is saved, so
a launch stopped while it waits resumes waiting for the same moment."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from svc_campaign.domain.ab_test import AbTestRun, Decision, Phase
from svc_campaign.domain.send_times import SendOptions, due_time
from svc_campaign.domain.values import AbTest, Channel

MAX_BACKOFF = timedelta(seconds=60)
FIRST_BACKOFF = timedelta(seconds=1)


class LaunchState(enum.Enum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    COMPENSATING = "COMPENSATING"  # a step failed for good; undoing the steps made (shown as FAILED)
    FAILED = "FAILED"  # compensated


class Step(enum.Enum):
    FREEZE_SNAPSHOT = "FREEZE_SNAPSHOT"
    PREFLIGHT_RENDER = "PREFLIGHT_RENDER"
    SCHEDULE_DELIVERIES = "SCHEDULE_DELIVERIES"
    INIT_TRACKING = "INIT_TRACKING"
    DECIDE_AB_TEST = "DECIDE_AB_TEST"  # an A/B test's decision, between its two passes
    # compensations, made in this order (the reverse of the steps they undo)
    VOID_TRACKING = "VOID_TRACKING"
    CANCEL_MESSAGES = "CANCEL_MESSAGES"
    RELEASE_SNAPSHOT = "RELEASE_SNAPSHOT"


class StepOutcome(enum.Enum):
    IN_PROGRESS = "IN_PROGRESS"  # a step of several calls (pages) part-way
    DONE = "DONE"
    RETRYING = "RETRYING"  # a transient problem; tried again later
    FAILED = "FAILED"
    NOT_POSSIBLE = "NOT_POSSIBLE"  # a compensation the peer cannot make; recorded, not retried


@dataclass(frozen=True)
class StepRecord:
    step: Step
    target: int | None  # index in Launch.targets; None for a step of the whole launch
    outcome: StepOutcome
    time: datetime
    detail: str = ""


class MessagesAction(enum.Enum):
    HOLD = "HOLD"
    RELEASE = "RELEASE"
    CANCEL = "CANCEL"


ACTION_OF = {"campaign_paused": MessagesAction.HOLD, "campaign_resumed": MessagesAction.RELEASE,
             "campaign_cancelled": MessagesAction.CANCEL, "campaign_deleted": MessagesAction.CANCEL}


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: int
    handed_over: int


class TargetState(enum.Enum):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Target:
    segment: str  # workspaces/{w}/segments/{s}
    channel: Channel
    template: str
    snapshot: str = ""
    total: int = 0
    cursor: str = ""  # page token of the snapshot's members still to send
    sent: int = 0
    duplicates: int = 0
    refused: int = 0
    state: TargetState = TargetState.PENDING
    error: str = ""
    rendered: bool = False  # the preflight render of one member passed
    last_send_time: datetime | None = None  # the latest due time planned for its messages so far
    tested: bool = False  # with an A/B test: the test share's pass is over (the cursor starts again)

    @property
    def snapshot_id(self) -> str:
        return self.snapshot.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class PageOutcome:
    sent: int
    duplicates: int
    refused: int
    next_cursor: str


@dataclass
class Launch:
    workspace: str
    campaign_id: str
    targets: list[Target]
    state: LaunchState = LaunchState.RUNNING
    attempts: int = 0  # transient failures in a row
    last_error: str = ""
    next_attempt_time: datetime | None = None
    version: int = 0
    update_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None  # the campaign schedule's end: nothing is handed over after it
    pending_action: MessagesAction | None = None  # to make in the notify service
    cancelled_messages: int = 0
    handed_over_messages: int = 0
    messages_held: bool = False  # the notify service holds them (a hold made, no release since)
    steps: list[StepRecord] = field(default_factory=list)  # the saga's log, oldest first
    tracking_initialised: bool = False
    failed_step: Step | None = None
    failure_reason: str = ""
    compensations: list[Step] = field(default_factory=list)  # still to make, in order
    send_options: SendOptions = SendOptions()  # when the messages go out (domain/send_times.py)
    ab: AbTestRun | None = None  # the A/B test, if the campaign has one
    run: int = 1  # the campaign's run this launch sends (a recurring campaign has one per occurrence)
    occurrence_time: datetime | None = None  # the occurrence the run is for (a manual start: its time)

    @classmethod
    def plan(cls, workspace: str, campaign_id: str, segments: tuple[str, ...], contents: dict[Channel, str],
             now: datetime, end_time: datetime | None = None, send_options: SendOptions = SendOptions(),
             ab_test: AbTest | None = None, run: int = 1, occurrence_time: datetime | None = None) -> Launch:
        targets = [Target(segment, channel, template) for segment in segments
                   for channel, template in sorted(contents.items(), key=lambda c: c[0].value)]
        launch = cls(workspace, campaign_id, targets, start_time=now, update_time=now, next_attempt_time=now,
                     end_time=end_time, send_options=send_options,
                     ab=AbTestRun.of(ab_test) if ab_test is not None else None,
                     run=run, occurrence_time=occurrence_time or now)
        launch._settle()
        return launch

    @property
    def name(self) -> str:
        """The campaign's name (the notify and audience services know the campaign, not the run)."""
        return f"workspaces/{self.workspace}/campaigns/{self.campaign_id}"

    @property
    def is_live(self) -> bool:
        """Still sending or undoing; or with a call to the notify service pending."""
        return self.state in (LaunchState.RUNNING, LaunchState.PAUSED, LaunchState.COMPENSATING) or (
            self.pending_action is not None)

    def next_step(self) -> tuple[Step, int | None] | None:
        """The step to make now and its target, or None when there is nothing to do now."""
        if self.state is LaunchState.COMPENSATING:
            return (self.compensations[0], None) if self.compensations else None
        if self.state is not LaunchState.RUNNING:
            return None
        pending = [i for i, t in enumerate(self.targets) if t.state is TargetState.PENDING]
        # Every snapshot first, so the audience is frozen as of the start for all targets alike; then every
        # preflight render, so a broken template fails the launch before any message is queued.
        for i in pending:
            if not self.targets[i].snapshot:
                return Step.FREEZE_SNAPSHOT, i
        for i in pending:
            if not self.targets[i].rendered:
                return Step.PREFLIGHT_RENDER, i
        if self.ab is not None and self.ab.phase is not Phase.REMAINDER:
            untested = [i for i in pending if not self.targets[i].tested]
            if self.ab.phase is Phase.TEST and untested:
                return Step.SCHEDULE_DELIVERIES, untested[0]
            return Step.DECIDE_AB_TEST, None
        if pending:
            return Step.SCHEDULE_DELIVERIES, pending[0]
        return None if self.tracking_initialised else (Step.INIT_TRACKING, None)

    def current(self) -> int | None:
        """Index of the target to work on, or None when there is nothing to do now (or the step is the
        launch's own)."""
        step = self.next_step()
        return step[1] if step else None

    def snapshot_taken(self, index: int, snapshot: str, total: int, now: datetime) -> None:
        self.targets[index] = replace(self.targets[index], snapshot=snapshot, total=total)
        self._record(Step.FREEZE_SNAPSHOT, index, StepOutcome.DONE, now, f"{snapshot}: {total} members")
        self._progressed(now)

    def preflight_passed(self, index: int, now: datetime, detail: str = "") -> None:
        self.targets[index] = replace(self.targets[index], rendered=True)
        self._record(Step.PREFLIGHT_RENDER, index, StepOutcome.DONE, now, detail)
        self._progressed(now)

    def due_times(self, index: int, profiles: list[str], zones: dict[str, str] | None = None
                  ) -> list[datetime | None]:
        """When each of `profiles`, the next page of target `index`, is due (None: as soon as allowed); `zones`
        gives the profiles' time zones when the options send at local time."""
        first, total, zones = self.position(index), self.planned_total, zones or {}
        start = self.start_time or self.update_time
        return [due_time(start, self.end_time, first + i, total, self.send_options, zones.get(p, ""))
                for i, p in enumerate(profiles)]

    def past_end(self, due: list[datetime | None]) -> int | None:
        """Position in `due` of the first message due at or after the schedule's end (None: every one is
        before it); none from there on is handed over (Launch.planned_past_end)."""
        if self.end_time is None:
            return None
        return next((i for i, d in enumerate(due) if d is not None and d >= self.end_time), None)

    @property
    def planned_total(self) -> int:
        """Messages the launch plans: the members of every target's snapshot."""
        return sum(t.total for t in self.targets)

    def position(self, index: int) -> int:
        """Plan position of target `index`'s next member: the members of the targets before it, then those of
        this target already handed over (accepted, duplicate or refused)."""
        target = self.targets[index]
        return sum(t.total for t in self.targets[:index]) + target.sent + target.duplicates + target.refused

    def page_sent(self, index: int, outcome: PageOutcome, now: datetime,
                  last_send_time: datetime | None = None) -> None:
        testing = self.ab is not None and self.ab.phase is Phase.TEST
        last = not outcome.next_cursor
        target = self._counted(index, outcome, last_send_time)
        self.targets[index] = target = replace(
            target, tested=target.tested or (testing and last),
            state=TargetState.DONE if last and not testing else TargetState.PENDING)
        part = "" if self.ab is None else ("test share: " if testing else f"rest with {self.ab.decision.winner}: ")
        self._record(Step.SCHEDULE_DELIVERIES, index, StepOutcome.DONE if last else StepOutcome.IN_PROGRESS, now,
                     f"{part}{target.sent} accepted, {target.duplicates} duplicates, {target.refused} refused")
        if testing and all(t.tested or t.state is not TargetState.PENDING for t in self.targets):
            self.ab.start_waiting(now)
        self._progressed(now)

    def planned_past_end(self, index: int, outcome: PageOutcome, now: datetime,
                         last_send_time: datetime | None = None) -> None:
        """A page of target `index` reached members due at or after the schedule's end: those before them
        were handed over (`outcome`); the launch ends there as when the end time passes (cut_short), the
        members left counted as not handed over."""
        target = self._counted(index, outcome, last_send_time)
        self._record(Step.SCHEDULE_DELIVERIES, index, StepOutcome.DONE, now,
                     f"{target.sent} accepted, {target.duplicates} duplicates, {target.refused} refused; the "
                     "next would be due after the schedule's end")
        self.cut_short(now, planned=True)

    def _counted(self, index: int, outcome: PageOutcome, last_send_time: datetime | None) -> Target:
        target = self.targets[index]
        latest = target.last_send_time
        if last_send_time is not None and (latest is None or last_send_time > latest):
            latest = last_send_time
        self.targets[index] = target = replace(
            target, sent=target.sent + outcome.sent, duplicates=target.duplicates + outcome.duplicates,
            refused=target.refused + outcome.refused, cursor=outcome.next_cursor, last_send_time=latest)
        return target

    def variants_found(self, arms: tuple[str, ...]) -> None:
        """The A/B test's arms: the template's variants, found at the preflight."""
        assert self.ab is not None
        self.ab.arms = tuple(arms)

    def ab_decided(self, decision: Decision, now: datetime) -> None:
        """The winner is chosen: the rest of the audience gets it."""
        assert self.ab is not None
        self.ab.decision, self.ab.phase = decision, Phase.REMAINDER
        figures = ", ".join(f"{f.variant} {f.goal_count}/{f.base}" for f in decision.variants)
        self._record(Step.DECIDE_AB_TEST, None, StepOutcome.DONE, now,
                     f"{decision.winner} wins ({decision.reason.value}, p={decision.p_value:.3g}; {figures})")
        self._progressed(now)

    def ab_waits(self, now: datetime, detail: str) -> None:
        """No decision yet: read the figures again at the next check (at the latest, the decide time)."""
        assert self.ab is not None
        self.ab.checks += 1
        self._record(Step.DECIDE_AB_TEST, None, StepOutcome.IN_PROGRESS, now, detail)
        self.attempts, self.last_error, self.update_time = 0, "", now
        self.next_attempt_time = self.ab.next_check(now)

    def tracking_done(self, now: datetime, detail: str = "") -> None:
        self.tracking_initialised = True
        self._record(Step.INIT_TRACKING, None, StepOutcome.DONE, now, detail)
        self._progressed(now)

    def step_failed(self, step: Step, index: int | None, why: str, now: datetime) -> None:
        """`step` failed for good: compensate the steps made, newest first, then end FAILED."""
        if index is not None:
            self.targets[index] = replace(self.targets[index], state=TargetState.FAILED, error=why)
        self._record(step, index, StepOutcome.FAILED, now, why)
        self.failed_step, self.failure_reason = step, why
        self.last_error = f"{step.value} failed: {why}"
        self.compensations = [c for c, needed in (
            (Step.VOID_TRACKING, self.tracking_initialised),
            # a page may have reached notify before a crash kept its outcome: cancel once any could have
            (Step.CANCEL_MESSAGES, any(t.rendered for t in self.targets)),
            (Step.RELEASE_SNAPSHOT, any(t.snapshot for t in self.targets))) if needed]
        self.state = LaunchState.COMPENSATING
        self.attempts, self.update_time, self.next_attempt_time = 0, now, now
        self._compensated_all(now)

    def compensated(self, step: Step, outcome: StepOutcome, now: datetime, detail: str = "") -> None:
        """A compensation made (DONE) or found impossible (NOT_POSSIBLE, recorded and not retried)."""
        self._record(step, None, outcome, now, detail)
        if self.compensations and self.compensations[0] is step:
            self.compensations.pop(0)
        if step is Step.VOID_TRACKING:
            self.tracking_initialised = False
        self.attempts, self.update_time, self.next_attempt_time = 0, now, now
        self._compensated_all(now)

    def _compensated_all(self, now: datetime) -> None:
        if self.state is LaunchState.COMPENSATING and not self.compensations:
            self.state = LaunchState.FAILED
            self.next_attempt_time = now if self.pending_action else None

    def _record(self, step: Step, index: int | None, outcome: StepOutcome, now: datetime, detail: str) -> None:
        """Appends to the log; a step's later record replaces its own earlier one (pages, retries) so the log
        stays one line per step and target."""
        record = StepRecord(step, index, outcome, now, detail)
        if self.steps and self.steps[-1].step is step and self.steps[-1].target == index:
            self.steps[-1] = record
        else:
            self.steps.append(record)

    def window_over(self, now: datetime) -> bool:
        return self.end_time is not None and now >= self.end_time

    def cut_short(self, now: datetime, planned: bool = False) -> None:
        """The schedule ended before every member was handed over (or, `planned`, the members left would be due
        after its end): the targets still pending fail with the count left unsent, and the launch completes.
        Messages already handed to notify are not recalled."""
        end = self.end_time.isoformat()
        for i, target in enumerate(self.targets):
            if target.state is TargetState.PENDING:
                left = "all members" if not target.snapshot else (
                    f"{max(target.total - target.sent - target.duplicates - target.refused, 0)} members")
                self.targets[i] = replace(target, state=TargetState.FAILED, error=(
                    f"cut short: {left} not handed over, due after the schedule's end at {end}" if planned else
                    f"cut short: the schedule ended at {end} with {left} not handed over"))
        self.last_error = (f"the send times planned reach past the schedule's end at {end}: the members due after "
                           "it are not handed over" if planned else
                           f"the schedule ended at {end} before the launch finished")
        self.state = LaunchState.COMPLETED
        self.next_attempt_time = None
        self.update_time = now

    def hold_up(self, why: str, now: datetime, step: tuple[Step, int | None] | None = None) -> None:
        """A transient problem: try again later, waiting longer each time."""
        if step is not None:
            self._record(step[0], step[1], StepOutcome.RETRYING, now, why)
        self.attempts += 1
        self.last_error = why
        self.next_attempt_time = now + min(FIRST_BACKOFF * 2 ** (self.attempts - 1), MAX_BACKOFF)
        self.update_time = now

    def campaign_changed(self, event_type: str, now: datetime) -> None:
        """Follows the campaign's lifecycle: pause holds the sending, resume
        carries on, cancel or complete ends it; and asks the same of the
        messages handed over (pending_action), even once the launch is done."""
        action = ACTION_OF.get(event_type)
        if action is not None and self.pending_action is not MessagesAction.CANCEL and not (
                self.state is LaunchState.CANCELLED and self.pending_action is None):
            self.pending_action = action  # a later change replaces one not yet made; nothing undoes a cancel
            self.next_attempt_time = now
            self.attempts, self.update_time = 0, now
        if self.state in (LaunchState.COMPLETED, LaunchState.CANCELLED, LaunchState.COMPENSATING,
                          LaunchState.FAILED):
            return
        if event_type == "campaign_paused":
            self.state = LaunchState.PAUSED
        elif event_type == "campaign_resumed":
            self.state = LaunchState.RUNNING
            self.next_attempt_time = now
            self._settle()
        elif event_type in ("campaign_cancelled", "campaign_deleted"):
            self.state = LaunchState.CANCELLED
        elif event_type == "campaign_completed":
            self.state = LaunchState.COMPLETED
        self.update_time = now

    def action_done(self, action: MessagesAction, now: datetime, outcome: CancelOutcome | None = None) -> None:
        """The notify service made `action` (a cancel reports its counts)."""
        if outcome is not None:  # the notify service's figures, the same when a call is repeated
            self.cancelled_messages, self.handed_over_messages = outcome.cancelled, outcome.handed_over
        if action is not MessagesAction.CANCEL:
            self.messages_held = action is MessagesAction.HOLD
        if self.pending_action is action:
            self.pending_action = None
        self.attempts = 0
        self.last_error = ""
        self.update_time = now
        self.next_attempt_time = now if (self.state in (LaunchState.RUNNING, LaunchState.COMPENSATING)
                                         or self.pending_action) else None

    def _progressed(self, now: datetime) -> None:
        self.attempts = 0
        self.last_error = ""
        self.next_attempt_time = now
        self.update_time = now
        self._settle()

    def _settle(self) -> None:
        if self.state is LaunchState.RUNNING and self.tracking_initialised and all(
                t.state is not TargetState.PENDING for t in self.targets):
            self.state = LaunchState.COMPLETED
            if self.pending_action is None:
                self.next_attempt_time = None

    @property
    def progress(self) -> tuple[int, int, int]:
        """(handed over, snapshotted, refused) over every target."""
        return (sum(t.sent + t.duplicates for t in self.targets), sum(t.total for t in self.targets),
                sum(t.refused for t in self.targets))


def idempotency_key(campaign_id: str, profile: str, channel: Channel, step: str = "launch", run: int = 1) -> str:
    """The notify service sends one message per key, however often it is asked: one per recipient, channel
    and run (run 1 keeps the key launches had before recurring runs, so a launch in flight across the
    upgrade sends nothing twice)."""
    return f"{campaign_id}:{profile}:{channel.value}:{step}" + (f":run-{run}" if run != 1 else "")


def snapshot_id(campaign_id: str, channel: Channel, run: int = 1) -> str:
    """Each run freezes its own audience snapshot (run 1 keeps the id it had before recurring runs)."""
    suffix = f"-r{run}" if run != 1 else ""
    return f"launch-{campaign_id}-{channel.value.lower().replace('_', '-')}{suffix}"


