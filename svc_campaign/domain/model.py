"""The campaign aggregate: its invariants and its lifecycle state machine.

The aggregate is event-sourced: every change is an event (domain/events.py)
that `apply` folds into the state, so `Campaign.replay(history)` rebuilds any
past version from the stored stream."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from svc_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument

from svc_campaign.domain import validation as v
from svc_campaign.domain.recurrence import next_occurrence, recurrence
from svc_kit.ids import new_id

from svc_campaign.domain.events import CREATED, DELETED, STARTED, STATE_EVENTS, UPDATED, CampaignEvent
from svc_campaign.domain.values import AbTest, Budget, Channel, ContentRef, Schedule, State

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[State], State]] = {
    "schedule": (frozenset({State.DRAFT}), State.SCHEDULED),
    "unschedule": (frozenset({State.SCHEDULED}), State.DRAFT),
    "start": (frozenset({State.SCHEDULED}), State.RUNNING),
    "pause": (frozenset({State.RUNNING}), State.PAUSED),
    "resume": (frozenset({State.PAUSED}), State.RUNNING),
    "complete": (frozenset({State.RUNNING, State.PAUSED}), State.COMPLETED),
    "cancel": (frozenset({State.DRAFT, State.SCHEDULED, State.RUNNING, State.PAUSED}), State.CANCELLED),
    # Not a caller's action (no RPC names it): the upkeep's, once the campaign's launch failed for good
    # and its compensations ran (service_layer/upkeep.py). FAILED is final.
    "fail": (frozenset({State.RUNNING, State.PAUSED}), State.FAILED),
}

# Fields a caller may change, per state. Scheduled campaigns stay launch-ready.
_ALL = frozenset({"display_name", "description", "channels", "schedule", "budget", "target_segments",
                  "contents", "labels", "ab_test"})
_LIVE = frozenset({"display_name", "description", "labels", "budget", "schedule.end_time"})
EDITABLE: dict[State, frozenset[str]] = {
    State.DRAFT: _ALL,
    State.SCHEDULED: _ALL,
    State.RUNNING: _LIVE,
    State.PAUSED: _LIVE,
    State.COMPLETED: frozenset({"description", "labels"}),
    State.CANCELLED: frozenset({"description", "labels"}),
    State.FAILED: frozenset({"description", "labels"}),
}


@dataclass(frozen=True)
class CampaignFields:
    """What a caller writes: everything of a campaign but its identity and state."""

    display_name: str = ""
    description: str = ""
    channels: tuple[Channel, ...] = ()
    schedule: Schedule | None = None
    budget: Budget | None = None
    target_segments: tuple[str, ...] = ()
    contents: tuple[ContentRef, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    ab_test: AbTest | None = None

    def violations(self, workspace: str) -> list[FieldViolation]:
        return [
            *v.check_display_name(self.display_name),
            *v.check_schedule(self.schedule),
            *v.check_budget(self.budget),
            *v.check_send_times(self.schedule, self.budget),
            *v.check_references("target_segments", self.target_segments, "segments", workspace),
            *v.check_contents(self.contents, workspace),
            *v.check_ab_test(self.ab_test, self.contents),
        ]

    def with_paths(self, source: CampaignFields, paths: set[str]) -> CampaignFields:
        """These fields with the `paths` taken from `source` (an update mask)."""
        changes: dict[str, Any] = {}
        schedule_parts = {p.split(".", 1)[1] for p in paths if p.startswith("schedule.")}
        for name in paths:
            if "." not in name:
                changes[name] = getattr(source, name)
        if schedule_parts and "schedule" not in paths:
            base = self.schedule or Schedule()
            incoming = source.schedule or Schedule()
            changes["schedule"] = replace(base, **{p: getattr(incoming, p) for p in schedule_parts})
        return replace(self, **changes)

    def changed_paths(self, other: CampaignFields) -> set[str]:
        changed = {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}
        if "schedule" in changed:
            a, b = self.schedule or Schedule(), other.schedule or Schedule()
            changed |= {f"schedule.{f.name}" for f in fields(Schedule) if getattr(a, f.name) != getattr(b, f.name)}
        return changed


@dataclass
class Campaign:
    workspace: str
    id: str
    fields: CampaignFields
    state: State
    create_time: datetime
    update_time: datetime
    state_time: datetime
    version: int = 1
    deleted: bool = False
    runs: int = 0  # runs started (a recurring campaign starts one per occurrence; any other once)
    last_run_time: datetime | None = None  # the occurrence (or manual start) the newest run is for
    events: list[CampaignEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(cls, workspace: str, campaign_id: str, data: CampaignFields, now: datetime) -> Campaign:
        violations = v.check_workspace(workspace) + data.violations(workspace)
        if violations:
            raise InvalidArgument(violations)
        event = CampaignEvent(new_id(), CREATED, workspace, campaign_id, 1, now, {"fields": data})
        campaign = cls._born(event)
        campaign.events.append(event)
        return campaign

    @classmethod
    def _born(cls, event: CampaignEvent) -> Campaign:
        t = event.occurred_at
        return cls(event.workspace, event.campaign_id, event.data["fields"], State.DRAFT, t, t, t)

    @classmethod
    def replay(cls, history: list[CampaignEvent]) -> Campaign | None:
        """The campaign as its events leave it (None for an empty history)."""
        if not history:
            return None
        if history[0].type != CREATED:
            raise ValueError(f"history of {history[0].campaign_id} starts with {history[0].type}")
        campaign = cls._born(history[0])
        for event in history[1:]:
            campaign.apply(event)
        return campaign

    def apply(self, event: CampaignEvent) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"event version {event.version} does not follow {self.version}")
        if event.type == UPDATED:
            self.fields = event.data["fields"]
        elif event.type == DELETED:
            self.deleted = True
        elif event.type in STATE_EVENTS.values():
            if event.type == STARTED:  # events from before recurring runs carry neither: run 1 at its time
                self.runs = event.data.get("run") or self.runs + 1
                self.last_run_time = event.data.get("occurrence_time") or event.occurred_at
            if event.data["to_state"] != self.state.value:  # a recurring campaign's next run stays RUNNING
                self.state_time = event.occurred_at
            self.state = State(event.data["to_state"])
        else:
            raise ValueError(f"unknown campaign event {event.type}")
        self.update_time = event.occurred_at
        self.version = event.version

    @property
    def recurring(self) -> bool:
        return self.fields.schedule is not None and self.fields.schedule.recurring

    def _recurrence(self):
        s = self.fields.schedule
        return recurrence(s.recurrence, s.start_time, s.time_zone, s.end_time)

    def _next_occurrence(self, after: datetime | None) -> datetime | None:
        s = self.fields.schedule
        return next_occurrence(s.recurrence, s.start_time, s.time_zone, s.end_time, after)

    @property
    def due_time(self) -> datetime | None:
        """When the scheduler starts this campaign's next run: its start time while it is SCHEDULED; for a
        recurring campaign the rule's first occurrence while SCHEDULED, then while RUNNING the occurrence
        after its newest run (None once the rule has no more). PAUSED holds the runs: none is due."""
        schedule = self.fields.schedule
        if self.deleted or schedule is None or schedule.start_time is None:
            return None
        if not schedule.recurring:
            return schedule.start_time if self.state is State.SCHEDULED else None
        if self.state is State.SCHEDULED:
            return self._next_occurrence(None)
        if self.state is State.RUNNING and self.last_run_time is not None:
            return self._next_occurrence(self.last_run_time)
        return None

    @property
    def has_more_runs(self) -> bool:
        """A recurring campaign whose rule still has an occurrence to come (or one due now)."""
        return self.recurring and self.state in (State.RUNNING, State.PAUSED) and (
            self.last_run_time is None or self._next_occurrence(self.last_run_time) is not None)

    def fire(self, now: datetime) -> None:
        """The scheduler starts the run that is due: SCHEDULED -> RUNNING, or a recurring campaign's next
        run (it stays RUNNING). Of several occurrences missed (the service was down, or the campaign
        paused), one run fires, for the newest of them; the next is the rule's first after it."""
        due = self.due_time
        if due is None or due > now:
            raise FailedPrecondition(f"campaign in state {self.state.value} has no run due at {now.isoformat()}",
                                     metadata={"state": self.state.value, "action": "start"})
        occurrence = self._recurrence().latest(self.last_run_time, now) if self.recurring else due
        if self.state is State.SCHEDULED:
            self.transition("start", now, occurrence or due)
        else:
            self._emit(STARTED, now, {"from_state": self.state.value, "to_state": self.state.value,
                                      "run": self.runs + 1, "occurrence_time": occurrence or due})

    @property
    def etag(self) -> str:
        digest = hashlib.blake2b(f"{self.workspace}/{self.id}/{self.version}".encode(), digest_size=8)
        return digest.hexdigest()

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(
                f"etag {etag!r} is stale: the campaign changed since it was read (current etag {self.etag!r}); "
                "read it again and retry"
            )

    def update(self, incoming: CampaignFields, paths: set[str], now: datetime) -> None:
        """Applies the `paths` of `incoming`. Paths are already known to be valid
        field names of CampaignFields (or `schedule.<part>`)."""
        updated = self.fields.with_paths(incoming, paths)
        changed = updated.changed_paths(self.fields)
        if not changed:
            return
        allowed = EDITABLE[self.state]
        # A changed part (schedule.end_time) also marks its parent (schedule) changed: judge the parts.
        judged = {p for p in changed if not any(q.startswith(p + ".") for q in changed)}
        refused = sorted(p for p in judged if p not in allowed and p.split(".")[0] not in allowed)
        if refused:
            raise FailedPrecondition(
                f"campaign is {self.state.value}: {', '.join(refused)} cannot change in this state "
                f"(editable: {', '.join(sorted(allowed))})",
                metadata={"state": self.state.value},
            )
        violations = updated.violations(self.workspace)
        if violations:
            raise InvalidArgument(violations)
        if self.state is State.SCHEDULED:
            self._require_launch_ready(updated, now, "the campaign is SCHEDULED, so the change must keep it ready")
        self._emit(UPDATED, now, {"paths": sorted(changed), "fields": updated})

    def transition(self, action: str, now: datetime, occurrence: datetime | None = None) -> None:
        sources, target = TRANSITIONS[action]
        if self.state not in sources:
            allowed = ", ".join(sorted(s.value for s in sources))
            raise FailedPrecondition(
                f"cannot {action} a campaign in state {self.state.value}; {action} needs state {allowed}",
                metadata={"state": self.state.value, "action": action},
            )
        if action == "schedule":
            self._require_launch_ready(self.fields, now, "the campaign cannot be scheduled")
        data = {"from_state": self.state.value, "to_state": target.value}
        if action == "start":  # run 1: a manual start is its own occurrence
            data |= {"run": self.runs + 1, "occurrence_time": occurrence or now}
        self._emit(STATE_EVENTS[action], now, data)

    def delete(self, now: datetime) -> None:
        if self.state in (State.SCHEDULED, State.RUNNING, State.PAUSED):
            raise FailedPrecondition(
                f"cannot delete a campaign in state {self.state.value}; cancel it first",
                metadata={"state": self.state.value, "action": "delete"},
            )
        self._emit(DELETED, now, {"last_state": self.state.value})

    def launch_readiness(self, data: CampaignFields, now: datetime) -> list[FieldViolation]:
        """What a launch needs beyond the draft invariants."""
        p = "campaign."
        missing = []
        if not data.channels:
            missing.append(FieldViolation(p + "channels", "at least one channel is needed"))
        if not data.target_segments:
            missing.append(FieldViolation(p + "target_segments", "at least one target segment is needed"))
        covered = {c.channel for c in data.contents}
        for channel in data.channels:
            if channel not in covered:
                missing.append(FieldViolation(p + "contents", f"no content for channel {channel.value}"))
        for ref in data.contents:
            if ref.channel not in data.channels:
                missing.append(FieldViolation(p + "contents", f"content for {ref.channel.value}, which is not a "
                                              "channel of the campaign"))
        schedule = data.schedule or Schedule()
        if schedule.start_time is None:
            missing.append(FieldViolation(p + "schedule.start_time", "a start time is needed"))
        elif schedule.start_time <= now and self.state is State.DRAFT:
            missing.append(FieldViolation(p + "schedule.start_time", "must lie in the future"))
        if not schedule.time_zone:
            missing.append(FieldViolation(p + "schedule.time_zone", "a time zone is needed, such as Europe/Paris"))
        if data.budget:
            for allocation in data.budget.allocations:
                if allocation.channel not in data.channels:
                    missing.append(FieldViolation(p + "budget.allocations",
                                                  f"allocation for {allocation.channel.value}, which is not a "
                                                  "channel of the campaign"))
        return missing

    def _require_launch_ready(self, data: CampaignFields, now: datetime, why: str) -> None:
        missing = self.launch_readiness(data, now)
        if missing:
            details = "; ".join(f"{m.field}: {m.description}" for m in missing)
            raise FailedPrecondition(f"{why}: {details}", missing, violation_type="LAUNCH_READINESS",
                                     metadata={"state": self.state.value})

    def _emit(self, event_type: str, now: datetime, data: dict[str, Any]) -> None:
        event = CampaignEvent(new_id(), event_type, self.workspace, self.id, self.version + 1, now, data)
        self.apply(event)
        self.events.append(event)
