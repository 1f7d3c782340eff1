"""The launch of a started campaign, as a resumable plan: one target per
target segment and channel, each moving from a snapshot to pages of messages
handed to the notify service. Pure: the runner does the talking and feeds the
outcomes back here.

The campaign's lifecycle reaches the messages already handed over too: a
pause holds them in the notify service, a resume releases them, a cancel
cancels those no provider has yet. The campaign's state is the source of
truth: its change is recorded here as a pending action, which the runner
makes until the notify service answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from svc_campaign.domain.values import Channel

MAX_BACKOFF = timedelta(seconds=60)
FIRST_BACKOFF = timedelta(seconds=1)


class LaunchState(enum.Enum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


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

    @classmethod
    def plan(cls, workspace: str, campaign_id: str, segments: tuple[str, ...], contents: dict[Channel, str],
             now: datetime, end_time: datetime | None = None) -> Launch:
        targets = [Target(segment, channel, template) for segment in segments
                   for channel, template in sorted(contents.items(), key=lambda c: c[0].value)]
        launch = cls(workspace, campaign_id, targets, start_time=now, update_time=now, next_attempt_time=now,
                     end_time=end_time)
        launch._settle()
        return launch

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/campaigns/{self.campaign_id}"

    def current(self) -> int | None:
        """Index of the target to work on, or None when there is nothing to do now."""
        if self.state is not LaunchState.RUNNING:
            return None
        pending = [i for i, t in enumerate(self.targets) if t.state is TargetState.PENDING]
        # Every snapshot first, so the audience is frozen as of the start for all targets alike.
        return next((i for i in pending if not self.targets[i].snapshot), pending[0] if pending else None)

    def snapshot_taken(self, index: int, snapshot: str, total: int, now: datetime) -> None:
        self.targets[index] = replace(self.targets[index], snapshot=snapshot, total=total)
        self._progressed(now)

    def page_sent(self, index: int, outcome: PageOutcome, now: datetime) -> None:
        target = self.targets[index]
        self.targets[index] = replace(
            target, sent=target.sent + outcome.sent, duplicates=target.duplicates + outcome.duplicates,
            refused=target.refused + outcome.refused, cursor=outcome.next_cursor,
            state=TargetState.PENDING if outcome.next_cursor else TargetState.DONE)
        self._progressed(now)

    def target_failed(self, index: int, why: str, now: datetime) -> None:
        self.targets[index] = replace(self.targets[index], state=TargetState.FAILED, error=why)
        self._progressed(now)

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

    def hold_up(self, why: str, now: datetime) -> None:
        """A transient problem: try again later, waiting longer each time."""
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
        if self.state in (LaunchState.COMPLETED, LaunchState.CANCELLED):
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
        self.next_attempt_time = now if self.state is LaunchState.RUNNING or self.pending_action else None

    def _progressed(self, now: datetime) -> None:
        self.attempts = 0
        self.last_error = ""
        self.next_attempt_time = now
        self.update_time = now
        self._settle()

    def _settle(self) -> None:
        if self.state is LaunchState.RUNNING and all(t.state is not TargetState.PENDING for t in self.targets):
            self.state = LaunchState.COMPLETED
            if self.pending_action is None:
                self.next_attempt_time = None

    @property
    def progress(self) -> tuple[int, int, int]:
        """(handed over, snapshotted, refused) over every target."""
        return (sum(t.sent + t.duplicates for t in self.targets), sum(t.total for t in self.targets),
                sum(t.refused for t in self.targets))


def idempotency_key(campaign_id: str, profile: str, channel: Channel, step: str = "launch") -> str:
    """The notify service sends one message per key, however often it is asked."""
    return f"{campaign_id}:{profile}:{channel.value}:{step}"


def snapshot_id(campaign_id: str, channel: Channel) -> str:
    return f"launch-{campaign_id}-{channel.value.lower().replace('_', '-')}"


