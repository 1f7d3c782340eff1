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
naming the failed step and the reason."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from svc_campaign.domain.values import Channel

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
    run: int = 1  # the campaign's run this launch sends (a recurring campaign has one per occurrence)
    occurrence_time: datetime | None = None  # the occurrence the run is for (a manual start: its time)

    @classmethod
    def plan(cls, workspace: str, campaign_id: str, segments: tuple[str, ...], contents: dict[Channel, str],
             now: datetime, end_time: datetime | None = None, run: int = 1,
             occurrence_time: datetime | None = None) -> Launch:
        targets = [Target(segment, channel, template) for segment in segments
                   for channel, template in sorted(contents.items(), key=lambda c: c[0].value)]
        launch = cls(workspace, campaign_id, targets, start_time=now, update_time=now, next_attempt_time=now,
                     end_time=end_time, run=run, occurrence_time=occurrence_time or now)
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

    def page_sent(self, index: int, outcome: PageOutcome, now: datetime) -> None:
        target = self.targets[index]
        self.targets[index] = target = replace(
            target, sent=target.sent + outcome.sent, duplicates=target.duplicates + outcome.duplicates,
            refused=target.refused + outcome.refused, cursor=outcome.next_cursor,
            state=TargetState.PENDING if outcome.next_cursor else TargetState.DONE)
        self._record(Step.SCHEDULE_DELIVERIES, index,
                     StepOutcome.IN_PROGRESS if outcome.next_cursor else StepOutcome.DONE, now,
                     f"{target.sent} accepted, {target.duplicates} duplicates, {target.refused} refused")
        self._progressed(now)

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

    def cut_short(self, now: datetime) -> None:
        """The schedule ended before every member was handed over: the targets still pending fail with the
        count left unsent, and the launch completes. Messages already handed to notify are not recalled."""
        for i, target in enumerate(self.targets):
            if target.state is TargetState.PENDING:
                left = "all members" if not target.snapshot else (
                    f"{max(target.total - target.sent - target.duplicates - target.refused, 0)} members")
                self.targets[i] = replace(target, state=TargetState.FAILED,
                                          error=f"cut short: the schedule ended at {self.end_time.isoformat()} "
                                                f"with {left} not handed over")
        self.last_error = f"the schedule ended at {self.end_time.isoformat()} before the launch finished"
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


