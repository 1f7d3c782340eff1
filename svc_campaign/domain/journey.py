"""Journeys (pure): a triggered workflow's definition and its validation on
publish, the re-entry rule, and the per-profile state machine that moves an
entry from step to step until an exit step or the goal event.

Decisions (docs/services/campaign.md, "Journeys"):
- The step graph is acyclic: publishing refuses any cycle, so every path from
  the entry step ends in an exit step after finitely many steps (a loop back
  through a wait would keep a profile inside forever).
- Every step is reachable from the entry step; every successor named exists.
- Waits are bounded: a duration from 1 second to 90 days (a wait for an event
  has that duration as its timeout and two branches, `on_event`/`on_timeout`).
- An entry moves on in one pass as far as it can (sends, branches) and stops at
  a wait (a durable timer: `due_time`) or at its end. Effects (sends) are
  listed in order for the runtime; each carries an idempotency key derived
  from the journey, the entry and the step, so running a pass twice (a crash
  before its commit) never sends twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Any

from svc_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument

MAX_WAIT = timedelta(days=90)
MIN_WAIT = timedelta(seconds=1)
MAX_STEPS_PER_PASS = 200  # the graph is acyclic with at most 200 steps: a pass never exceeds this
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_:-]{0,63}$")
# At most 48 characters: the entry's trigger event `date:{attribute}:{YYYY-MM-DD}` fits the store's 64.
DATE_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
DATE_VALUE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
DATE_LATE = timedelta(days=1)  # a date trigger's occurrence still enters this long after its time

STEP_KINDS = ("wait", "branch", "send", "update_attribute", "add_to_segment", "remove_from_segment",
              "call_webhook", "exit")
# Declared in the API, refused at publish until the runtime runs them (docs: known gaps): none now.
NOT_RUN_YET: tuple[str, ...] = ()
TRIGGER_KINDS = ("event", "segment_entered", "segment_left", "date_attribute")
OPERATORS = ("EQUALS", "NOT_EQUALS", "EXISTS", "GREATER_THAN", "LESS_THAN")
CHANNELS = ("EMAIL", "SMS", "PUSH", "IN_APP")
REENTRY_MODES = ("ONCE", "ONCE_PER_PERIOD", "ALWAYS")

# Journey states and what each action may do.
DRAFT, ACTIVE, PAUSED, ARCHIVED = "DRAFT", "ACTIVE", "PAUSED", "ARCHIVED"
TRANSITIONS = {"pause": ((ACTIVE,), PAUSED), "resume": ((PAUSED,), ACTIVE), "archive": ((ACTIVE, PAUSED), ARCHIVED)}
# Entry states.
INSIDE, GOAL, EXITED = "ACTIVE", "GOAL", "EXITED"


@dataclass(frozen=True)
class Condition:
    property: str
    operator: str = "EQUALS"
    value: str = ""

    def holds(self, properties: dict[str, str]) -> bool:
        present = self.property in properties
        actual = properties.get(self.property, "")
        if self.operator == "EXISTS":
            return present
        if self.operator == "EQUALS":
            return present and actual == self.value
        if self.operator == "NOT_EQUALS":
            return actual != self.value or not present
        try:
            number, bound = float(actual), float(self.value)
        except ValueError:
            return False
        return number > bound if self.operator == "GREATER_THAN" else number < bound


@dataclass(frozen=True)
class Trigger:
    kind: str = ""
    event: str = ""
    conditions: tuple[Condition, ...] = ()
    segment: str = ""
    attribute: str = ""
    minute_of_day: int = 0

    def matches_event(self, name: str, properties: dict[str, str]) -> bool:
        return self.kind == "event" and name == self.event and all(c.holds(properties) for c in self.conditions)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    next: str = ""
    duration: timedelta = timedelta(0)  # wait
    event: str = ""  # wait for this event
    on_event: str = ""
    on_timeout: str = ""
    until_time: str = ""  # wait until this local time of day, HH:MM (instead of a duration)
    event_seen: str = ""  # branch on an event seen since entering ...
    on_true: str = ""
    on_false: str = ""
    in_segment: str = ""  # ... or on segment membership
    if_attribute: Condition | None = None  # ... or on a profile attribute (as audience has it when the step runs)
    channel: str = ""  # send
    template: str = ""
    attribute: str = ""  # update_attribute
    value: str = ""
    segment: str = ""  # add_to_segment / remove_from_segment
    webhook: str = ""  # call_webhook

    def successors(self) -> dict[str, str]:
        """Branch name -> step id, for the branches this kind has."""
        if self.kind == "exit":
            return {}
        if self.kind == "branch":
            return {"on_true": self.on_true, "on_false": self.on_false}
        if self.kind == "wait" and self.event:
            return {"on_event": self.on_event, "on_timeout": self.on_timeout}
        return {"next": self.next}


@dataclass(frozen=True)
class Reentry:
    mode: str = "ONCE"
    period: timedelta = timedelta(0)


@dataclass(frozen=True)
class Definition:
    trigger: Trigger = Trigger()
    steps: tuple[Step, ...] = ()
    entry_step: str = ""
    goal_event: str = ""
    reentry: Reentry = Reentry()

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def time_of_day_waits(self) -> bool:
        return any(s.kind == "wait" and s.until_time for s in self.steps)

    def segment_branches(self) -> bool:
        return any(s.kind == "branch" and s.in_segment for s in self.steps)

    def attribute_branches(self) -> bool:
        return any(s.kind == "branch" and s.if_attribute is not None for s in self.steps)

    def watched_events(self) -> frozenset[str]:
        """Events an entry must remember once inside (waits for an event, branches on one)."""
        return frozenset({s.event for s in self.steps if s.kind == "wait" and s.event}
                         | {s.event_seen for s in self.steps if s.kind == "branch" and s.event_seen})

    # ---- stored form (JSON) ----
    def to_dict(self) -> dict[str, Any]:
        t = self.trigger
        return {
            "trigger": {"kind": t.kind, "event": t.event, "segment": t.segment, "attribute": t.attribute,
                        "minute_of_day": t.minute_of_day,
                        "conditions": [{"property": c.property, "operator": c.operator, "value": c.value}
                                       for c in t.conditions]},
            "steps": [{k: v for k, v in _step_dict(s).items() if v not in ("", 0, 0.0)} | {"id": s.id, "kind": s.kind}
                      for s in self.steps],
            "entry_step": self.entry_step, "goal_event": self.goal_event,
            "reentry": {"mode": self.reentry.mode, "period_seconds": self.reentry.period.total_seconds()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Definition:
        t = data.get("trigger") or {}
        trigger = Trigger(t.get("kind", ""), t.get("event", ""),
                          tuple(Condition(c["property"], c.get("operator", "EQUALS"), c.get("value", ""))
                                for c in t.get("conditions", ())),
                          t.get("segment", ""), t.get("attribute", ""), int(t.get("minute_of_day", 0)))
        steps = []
        for s in data.get("steps", ()):
            values = {k: v for k, v in s.items() if k not in ("duration_seconds", "if_attribute")}
            c = s.get("if_attribute")
            condition = Condition(c["property"], c.get("operator", "EQUALS"), c.get("value", "")) if c else None
            steps.append(Step(**values, duration=timedelta(seconds=float(s.get("duration_seconds", 0))),
                              if_attribute=condition))
        r = data.get("reentry") or {}
        return cls(trigger, tuple(steps), data.get("entry_step", ""), data.get("goal_event", ""),
                   Reentry(r.get("mode", "ONCE"), timedelta(seconds=float(r.get("period_seconds", 0)))))


def _step_dict(s: Step) -> dict[str, Any]:
    return {"next": s.next, "duration_seconds": s.duration.total_seconds(), "event": s.event,
            "on_event": s.on_event, "on_timeout": s.on_timeout, "until_time": s.until_time, "event_seen": s.event_seen, "on_true": s.on_true,
            "on_false": s.on_false, "in_segment": s.in_segment, "channel": s.channel, "template": s.template, "attribute": s.attribute,
            "value": s.value, "segment": s.segment, "webhook": s.webhook,
            "if_attribute": "" if s.if_attribute is None else {
                "property": s.if_attribute.property, "operator": s.if_attribute.operator,
                "value": s.if_attribute.value}}


# ---------------------------------------------------------------- validation

def _in_workspace(name: str, workspace: str, collection: str) -> bool:
    if len(name) > 200:
        return False
    parts = name.split("/")
    return len(parts) == 4 and parts[0] == "workspaces" and parts[1] == workspace and parts[2] == collection \
        and bool(parts[3])


def validate_for_publish(definition: Definition, workspace: str,
                         prefix: str = "journey.definition") -> None:
    """Raises InvalidArgument listing every problem, each naming the field (and so the step)."""
    problems: list[FieldViolation] = []

    def bad(path: str, why: str) -> None:
        problems.append(FieldViolation(f"{prefix}.{path}", why))

    def condition(path: str, c: Condition, step: str = "") -> None:
        named = f"step {step!r}: " if step else ""
        if not c.property:
            bad(f"{path}.property", f"{named}required")
        if c.operator not in OPERATORS:
            bad(f"{path}.operator", f"{named}one of {', '.join(OPERATORS)}")
        elif c.operator in ("GREATER_THAN", "LESS_THAN"):
            try:
                float(c.value)
            except ValueError:
                bad(f"{path}.value", f"{named}{c.operator} compares numbers: {c.value!r} is not a number")

    t = definition.trigger
    if t.kind not in TRIGGER_KINDS:
        bad("trigger", "required: an event, segment_entered, segment_left or date_attribute trigger")
    elif t.kind == "event":
        if not EVENT_NAME.match(t.event):
            bad("trigger.event.event", "an event name, 1-64 characters [A-Za-z][A-Za-z0-9_:-]*")
        for i, c in enumerate(t.conditions):
            condition(f"trigger.event.conditions[{i}]", c)
    elif t.kind in ("segment_entered", "segment_left"):
        if not _in_workspace(t.segment, workspace, "segments"):
            bad(f"trigger.{t.kind}.segment", f"a segment of this workspace: workspaces/{workspace}/segments/{{id}}")
    else:
        if not DATE_ATTRIBUTE.match(t.attribute):
            bad("trigger.date_attribute.attribute", "an attribute key, 1-48 characters [a-z][a-z0-9_]* (a date "
                                                    "or a timestamp: its month and day count)")
        if not 0 <= t.minute_of_day <= 1439:
            bad("trigger.date_attribute.minute_of_day", "a minute of the day, 0-1439")
    if definition.goal_event and not EVENT_NAME.match(definition.goal_event):
        bad("goal_event", "an event name, 1-64 characters [A-Za-z][A-Za-z0-9_:-]*")
    r = definition.reentry
    if r.mode not in REENTRY_MODES:
        bad("reentry.mode", f"one of {', '.join(REENTRY_MODES)}")
    elif r.mode == "ONCE_PER_PERIOD" and r.period <= timedelta(0):
        bad("reentry.period", "required and positive with MODE_ONCE_PER_PERIOD")

    index: dict[str, int] = {}
    for i, s in enumerate(definition.steps):
        where = f"steps[{i}]"
        if not STEP_ID.match(s.id):
            bad(f"{where}.id", "1-63 characters [a-z0-9][a-z0-9_-]*")
        elif s.id in index:
            bad(f"{where}.id", f"step id {s.id!r} is used twice")
        else:
            index[s.id] = i
    if not definition.steps:
        bad("steps", "at least one step (and an exit step)")
    if definition.entry_step not in index:
        bad("entry_step", f"names no step: {definition.entry_step!r}")

    for i, s in enumerate(definition.steps):
        where = f"steps[{i}]"
        if s.kind not in STEP_KINDS:
            bad(where, f"step {s.id!r}: a kind is required ({', '.join(STEP_KINDS)})")
            continue
        if s.kind in NOT_RUN_YET:
            bad(f"{where}.{s.kind}", f"step {s.id!r}: {s.kind} steps are not run by the journey runtime yet")
        if s.kind == "wait" and s.until_time:
            if not TIME_OF_DAY.match(s.until_time):
                bad(f"{where}.wait.until_time_of_day", f"step {s.id!r}: a time of day, HH:MM (00:00-23:59)")
            if s.event or s.duration:
                bad(f"{where}.wait", f"step {s.id!r}: until_time_of_day waits take neither a duration nor an event")
        elif s.kind == "wait":
            if not MIN_WAIT <= s.duration <= MAX_WAIT:
                bad(f"{where}.wait.duration", f"step {s.id!r}: an unbounded or empty wait; the duration (or an "
                                              f"event's timeout) must be from 1 s to 90 days")
            if s.event and not EVENT_NAME.match(s.event):
                bad(f"{where}.wait.event", f"step {s.id!r}: an event name")
        if s.kind == "update_attribute" and not re.match(r"^[a-z][a-z0-9_]{0,62}$", s.attribute):
            bad(f"{where}.update_attribute.attribute", f"step {s.id!r}: an attribute key, [a-z][a-z0-9_]*")
        if s.kind == "branch":
            if [bool(s.event_seen), bool(s.in_segment), s.if_attribute is not None].count(True) != 1:
                bad(f"{where}.branch", f"step {s.id!r}: exactly one of event_seen, in_segment and attribute")
            elif s.event_seen and not EVENT_NAME.match(s.event_seen):
                bad(f"{where}.branch.event_seen", f"step {s.id!r}: an event name")
            elif s.in_segment and not _in_workspace(s.in_segment, workspace, "segments"):
                bad(f"{where}.branch.in_segment",
                    f"step {s.id!r}: a segment of this workspace: workspaces/{workspace}/segments/{{id}}")
            elif s.if_attribute is not None:
                condition(f"{where}.branch.attribute", s.if_attribute, s.id)
        if s.kind in ("add_to_segment", "remove_from_segment") and not _in_workspace(s.segment, workspace,
                                                                                    "segments"):
            bad(f"{where}.{s.kind}.segment",
                f"step {s.id!r}: a static segment of this workspace: workspaces/{workspace}/segments/{{id}}")
        if s.kind == "call_webhook" and not _in_workspace(s.webhook, workspace, "webhooks"):
            bad(f"{where}.call_webhook.webhook",
                f"step {s.id!r}: a webhook of this workspace: workspaces/{workspace}/webhooks/{{id}}")
        if s.kind == "send":
            if s.channel not in CHANNELS:
                bad(f"{where}.send.channel", f"step {s.id!r}: one of {', '.join(CHANNELS)}")
            if not _in_workspace(s.template, workspace, "templates"):
                bad(f"{where}.send.template",
                    f"step {s.id!r}: a template of this workspace: workspaces/{workspace}/templates/{{id}}")
        for branch, target in s.successors().items():
            field_path = f"{where}.{branch}" if branch == "next" else \
                f"{where}.{'wait' if s.kind == 'wait' else 'branch'}.{branch}"
            if not target:
                bad(field_path, f"step {s.id!r} is a dead end: {branch} is required (end paths with an exit step)")
            elif target not in index:
                bad(field_path, f"step {s.id!r}: {branch} names no step: {target!r}")

    if not problems:  # the graph is well formed: look at its shape
        problems.extend(_shape_problems(definition, index, prefix))
    if problems:
        raise InvalidArgument(problems)


def _shape_problems(definition: Definition, index: dict[str, int], prefix: str) -> list[FieldViolation]:
    """Cycles and unreachable steps (every successor exists: checked before)."""
    problems = []
    colour: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(step_id: str) -> None:
        stack = [(step_id, iter(definition.step(step_id).successors().values()))]
        colour[step_id] = 1
        while stack:
            current, successors = stack[-1]
            target = next(successors, None)
            if target is None:
                colour[current] = 2
                stack.pop()
                continue
            if colour.get(target) == 1:
                problems.append(FieldViolation(f"{prefix}.steps[{index[current]}]",
                                               f"step {current!r} leads back to {target!r}: journeys may not loop "
                                               f"(every path must end in an exit step)"))
            elif target not in colour:
                colour[target] = 1
                stack.append((target, iter(definition.step(target).successors().values())))

    visit(definition.entry_step)
    for s in definition.steps:
        if s.id not in colour:
            problems.append(FieldViolation(f"{prefix}.steps[{index[s.id]}]",
                                           f"step {s.id!r} cannot be reached from the entry step"))
    return problems


# ---------------------------------------------------------------- journeys

@dataclass
class Journey:
    workspace: str
    id: str
    display_name: str
    state: str
    draft: Definition
    published_version: int
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/journeys/{self.id}"

    @property
    def etag(self) -> str:
        return f"{self.revision:x}"

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag} (now {self.etag}); read it again")

    def publish(self, now: datetime) -> int:
        """Validates the draft and makes it the next version; returns the version number."""
        if self.state == ARCHIVED:
            raise FailedPrecondition(f"{self.name} is archived: it cannot be published again")
        validate_for_publish(self.draft, self.workspace)
        self.published_version += 1
        if self.state == DRAFT:
            self.state = ACTIVE
        self._touch(now)
        return self.published_version

    def change(self, action: str, now: datetime) -> None:
        allowed, target = TRANSITIONS[action]
        if self.state not in allowed:
            raise FailedPrecondition(f"cannot {action} a journey in state {self.state}; {action} needs state "
                                     f"{' or '.join(allowed)}", metadata={"state": self.state})
        self.state = target
        self._touch(now)

    def edit(self, display_name: str | None, draft: Definition | None, now: datetime) -> None:
        if self.state == ARCHIVED:
            raise FailedPrecondition(f"{self.name} is archived: its draft cannot change")
        if display_name is not None:
            self.display_name = display_name
        if draft is not None:
            self.draft = draft
        self._touch(now)

    def accepts_entries(self) -> bool:
        return self.state == ACTIVE

    def _touch(self, now: datetime) -> None:
        self.revision += 1
        self.update_time = now


def validate_display_name(value: str, field_name: str = "journey.display_name") -> None:
    if not value or len(value) > 200:
        raise InvalidArgument(FieldViolation(field_name, "required, 1-200 characters"))


# ---------------------------------------------------------------- re-entry

@dataclass(frozen=True)
class PastEntry:
    enter_time: datetime
    state: str


def refusal(rule: Reentry, past: list[PastEntry], now: datetime) -> str | None:
    """Why the profile may not enter now (None: it may)."""
    if any(p.state == INSIDE for p in past):
        return "reentry: already inside the journey"
    if not past or rule.mode == "ALWAYS":
        return None
    if rule.mode == "ONCE":
        return "reentry: once (entered before)"
    newest = max(p.enter_time for p in past)
    if now - newest < rule.period:
        return f"reentry: once per {rule.period} (entered {newest.isoformat()})"
    return None


# ---------------------------------------------------------------- the state machine

@dataclass(frozen=True)
class Send:
    step: str
    channel: str
    template: str
    idempotency_key: str


@dataclass(frozen=True)
class Update:
    """Sets a profile attribute (text) through the audience service; setting it again changes nothing."""
    step: str
    attribute: str
    value: str


@dataclass(frozen=True)
class Membership:
    """Adds the profile to (or removes it from) a static segment through the audience service; doing it again
    changes nothing."""
    step: str
    segment: str  # workspaces/{w}/segments/{id}
    add: bool


@dataclass(frozen=True)
class WebhookCall:
    """Asks the integrations service to deliver one `journey.step` event to a webhook; the key makes a second
    ask (a repeated pass) change nothing."""
    step: str
    webhook: str
    idempotency_key: str


@dataclass(frozen=True)
class TrailItem:
    kind: str
    step: str = ""
    detail: str = ""


@dataclass
class Entry:
    """One profile's way through one version of a journey."""
    id: str
    workspace: str
    journey_id: str
    version: int
    profile: str
    state: str = INSIDE
    step: str = ""
    waiting: bool = False  # at a wait step, its timer set
    due_time: datetime | None = None  # when the runtime looks at it next (None: never)
    seen: tuple[str, ...] = ()  # watched events tracked since entering
    enter_time: datetime | None = None
    revision: int = 0


def send_key(entry: Entry, step_id: str) -> str:
    """The idempotency key of a step's effect (notify's for a send, integrations' for a webhook call): the same
    on every run of the step."""
    return f"journeys/{entry.journey_id}/entries/{entry.id}/steps/{step_id}"


def enter(entry_id: str, workspace: str, journey_id: str, version: int, definition: Definition, profile: str,
          now: datetime) -> Entry:
    return Entry(entry_id, workspace, journey_id, version, profile, INSIDE, definition.entry_step, False, now, (),
                 now, 0)


@dataclass
class Pass:
    entry: Entry
    sends: list[Send] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    webhooks: list[WebhookCall] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    trail: list[TrailItem] = field(default_factory=list)


def next_time_of_day(now: datetime, hhmm: str, zone: str) -> datetime:
    """The first instant after `now` when the clock in `zone` shows `hhmm` (an unknown zone counts as UTC; a
    time skipped by a DST change falls at the same wall-clock offset after it)."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = now.astimezone(tz)
    for days in range(0, 3):
        day = (local + timedelta(days=days)).date()
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
        if candidate > now:
            return candidate
    raise ValueError("no such time in three days")  # unreachable


def advance(definition: Definition, entry: Entry, now: datetime, segments: frozenset[str] = frozenset(),
            zone: str = "UTC", attributes: dict[str, str] | None = None) -> Pass:
    """Moves a due entry as far as it goes now: fires its timer if it waits, then runs steps until a wait
    (its timer set) or the end. `segments`: the ids of the segments the profile is in (for branches on
    membership); `zone`: the profile's time zone (for waits until a time of day); `attributes`: the profile's
    attributes as text (for branches on an attribute; none: a profile without attributes). The entry is not
    changed; the pass holds the new one."""
    e = replace(entry)
    done = Pass(e)
    if e.state != INSIDE:
        e.due_time = None
        return done
    for _ in range(MAX_STEPS_PER_PASS):
        step = definition.step(e.step)
        if step.kind == "wait":
            if not e.waiting:
                e.waiting = True
                e.due_time = next_time_of_day(now, step.until_time, zone) if step.until_time else now + step.duration
                done.trail.append(TrailItem("waiting", step.id, f"until {e.due_time.isoformat()}"
                                            + (f" or {step.event}" if step.event else "")))
                return done
            if e.due_time is not None and e.due_time > now:
                return done  # not due yet
            branch = "on_timeout" if step.event else "next"
            e.waiting = False
            _leave(done, step, branch)
        elif step.kind == "branch":
            if step.if_attribute is not None:
                holds = step.if_attribute.holds(attributes or {})
            elif step.in_segment:
                holds = step.in_segment.rsplit("/", 1)[-1] in segments
            else:
                holds = step.event_seen in e.seen
            branch = "on_true" if holds else "on_false"
            _leave(done, step, branch)
        elif step.kind == "send":
            done.sends.append(Send(step.id, step.channel, step.template, send_key(e, step.id)))
            done.trail.append(TrailItem("send_requested", step.id, f"{step.channel} {step.template}"))
            _leave(done, step, "next")
        elif step.kind == "update_attribute":
            done.updates.append(Update(step.id, step.attribute, step.value))
            done.trail.append(TrailItem("update_requested", step.id, f"{step.attribute}={step.value}"))
            _leave(done, step, "next")
        elif step.kind in ("add_to_segment", "remove_from_segment"):
            adding = step.kind == "add_to_segment"
            done.memberships.append(Membership(step.id, step.segment, adding))
            done.trail.append(TrailItem("segment_add" if adding else "segment_remove", step.id, step.segment))
            _leave(done, step, "next")
        elif step.kind == "call_webhook":
            done.webhooks.append(WebhookCall(step.id, step.webhook, send_key(e, step.id)))
            done.trail.append(TrailItem("webhook_queued", step.id, step.webhook))
            _leave(done, step, "next")
        elif step.kind == "exit":
            e.state, e.due_time = EXITED, None
            done.trail.append(TrailItem("exited", step.id))
            return done
        else:  # refused at publish: never in a published version
            raise ValueError(f"step kind {step.kind} is not run")
    raise ValueError("a pass went through more steps than a journey may have")


def _leave(done: Pass, step: Step, branch: str) -> None:
    done.trail.append(TrailItem("step", step.id, branch))
    done.entry.step = step.successors()[branch]
    done.entry.due_time = None


def on_event(definition: Definition, entry: Entry, event: str, now: datetime) -> Pass | None:
    """A tracked event of the entry's profile: the goal ends the entry wherever it is; an awaited event
    moves a waiting entry to `on_event` (due now); a watched one is remembered. None: nothing changes."""
    if entry.state != INSIDE:
        return None
    e = replace(entry)
    done = Pass(e)
    if definition.goal_event and event == definition.goal_event:
        e.state, e.due_time, e.waiting = GOAL, None, False
        done.trail.append(TrailItem("goal", e.step, event))
        return done
    if event not in definition.watched_events():
        return None
    if event not in e.seen:
        e.seen = (*e.seen, event)
    step = definition.step(e.step)
    if step.kind == "wait" and e.waiting and step.event == event:
        e.waiting = False
        _leave(done, step, "on_event")
        e.due_time = now
    return done


# ---------------------------------------------------------------- date attribute triggers

def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def month_day(value: str) -> tuple[int, int] | None:
    """The month and day of a date attribute's value (`YYYY-MM-DD`, or an RFC 3339 timestamp: its date as
    written); None when it is no date."""
    found = DATE_VALUE.match(value or "")
    if found is None:
        return None
    month, day = int(found.group(2)), int(found.group(3))
    try:
        datetime(2000, month, day)  # a leap year: Feb 29 is a date
    except ValueError:
        return None
    return month, day


def _occurrence(year: int, month: int, day: int, minute_of_day: int, tz: ZoneInfo) -> datetime:
    if month == 2 and day == 29:
        try:
            datetime(year, 2, 29)
        except ValueError:
            day = 28  # Feb 29 falls on Feb 28 in other years
    local = datetime(year, month, day, minute_of_day // 60, minute_of_day % 60, tzinfo=tz)
    return local.astimezone(UTC)  # a time skipped by a DST change: the same wall-clock offset as before it


def next_date_occurrence(value: str, minute_of_day: int, zone: str, after: datetime) -> datetime | None:
    """The first instant after `after` when the profile's local date has the value's month and day and its
    clock shows `minute_of_day` (zone: the profile's, UTC when none or unknown). None: the value is no date."""
    md = month_day(value)
    if md is None:
        return None
    tz = _zone(zone)
    year = after.astimezone(tz).year
    for y in range(year - 1, year + 2):
        candidate = _occurrence(y, md[0], md[1], minute_of_day, tz)
        if candidate > after:
            return candidate
    raise ValueError("no occurrence within two years")  # unreachable


def last_date_occurrence(value: str, minute_of_day: int, zone: str, now: datetime) -> datetime | None:
    """The value's latest occurrence at or before `now` (None: the value is no date)."""
    md = month_day(value)
    if md is None:
        return None
    tz = _zone(zone)
    year = now.astimezone(tz).year
    for y in (year + 1, year, year - 1):
        candidate = _occurrence(y, md[0], md[1], minute_of_day, tz)
        if candidate <= now:
            return candidate
    raise ValueError("no occurrence within two years")  # unreachable


def due_date_occurrence(value: str, minute_of_day: int, zone: str, now: datetime,
                        late: timedelta = DATE_LATE) -> str | None:
    """The local date (YYYY-MM-DD) of the value's occurrence at or before `now` and less than `late` ago (the
    profile enters for it now), or None."""
    last = last_date_occurrence(value, minute_of_day, zone, now)
    if last is None or now - last >= late:
        return None
    return local_date(last, zone)


def local_date(instant: datetime, zone: str) -> str:
    """The date (YYYY-MM-DD) in `zone` (UTC when none or unknown) at `instant`."""
    return instant.astimezone(_zone(zone)).date().isoformat()


def date_trigger_event(attribute: str, local_date: str) -> str:
    """The trigger event of a date entry: one entry per journey version, profile and year."""
    return f"date:{attribute}:{local_date}"
