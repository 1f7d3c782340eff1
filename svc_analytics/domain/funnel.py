"""A saved funnel: ordered steps (event types) a profile goes through, counted
when the profile does them in order within the conversion window of the first."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svc_kit.errors import Aborted, FieldViolation, InvalidArgument
from svc_kit.filtering import parse_filter

from svc_analytics.domain.ingest import EVENT_TYPE

MIN_STEPS, MAX_STEPS = 2, 10
DEFAULT_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=90)
UPDATABLE = ("display_name", "description", "steps", "conversion_window", "labels")

_P = "funnel."


@dataclass(frozen=True)
class FunnelStep:
    event_type: str
    display_name: str = ""
    # Per-step conditions are part of the API but not of the store's funnel query yet: refused when set.
    filter: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.event_type


@dataclass(frozen=True)
class FunnelFields:
    """What a caller writes; None for conversion_window means the default (7 days)."""

    display_name: str = ""
    description: str = ""
    steps: tuple[FunnelStep, ...] = ()
    conversion_window: timedelta | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def violations(self) -> list[FieldViolation]:
        out = []
        if not self.display_name.strip():
            out.append(FieldViolation(_P + "display_name", "required: give the funnel a name"))
        # Lengths, at most MAX_STEPS steps and the labels' format are rules of funnel.proto, enforced on
        # every request by the server interceptor (svc_kit.validation).
        if not MIN_STEPS <= len(self.steps) <= MAX_STEPS:
            out.append(FieldViolation(_P + "steps", f"{MIN_STEPS} to {MAX_STEPS} steps, got {len(self.steps)}"))
        for i, step in enumerate(self.steps):
            if not EVENT_TYPE.fullmatch(step.event_type):
                out.append(FieldViolation(f"{_P}steps[{i}].event_type",
                                          "required: an event type of 1-64 characters [a-z][a-z0-9_]*"))
            if step.filter:
                out.append(FieldViolation(f"{_P}steps[{i}].filter",
                                          "per-step filters are not supported yet; give RunFunnel a filter for "
                                          "every step"))
        window = self.conversion_window
        if window is not None and not timedelta(0) < window <= MAX_WINDOW:
            out.append(FieldViolation(_P + "conversion_window",
                                      f"must be more than 0 and at most {MAX_WINDOW.days} days"))
        return out

    def check(self) -> None:
        if violations := self.violations():
            raise InvalidArgument(violations)

    def normalised(self) -> FunnelFields:
        return dataclasses.replace(self, steps=tuple(self.steps), labels=dict(self.labels),
                                   conversion_window=self.conversion_window or DEFAULT_WINDOW)


def check_paths(paths: set[str]) -> set[str]:
    """The update mask's paths as fields of FunnelFields; `*` is all of them."""
    if not paths:
        raise InvalidArgument(FieldViolation("update_mask", f"required: name the fields to change, of "
                                                            f"{', '.join(UPDATABLE)} (or *)"))
    if "*" in paths:
        return set(UPDATABLE)
    unknown = sorted(paths - set(UPDATABLE))
    if unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"cannot change {', '.join(unknown)}; "
                                                            f"paths are {', '.join(UPDATABLE)} or *"))
    return paths


@dataclass
class Funnel:
    workspace: str
    id: str
    fields: FunnelFields
    version: int
    create_time: datetime
    update_time: datetime

    @classmethod
    def create(cls, workspace: str, funnel_id: str, fields: FunnelFields, now: datetime) -> Funnel:
        fields.check()
        return cls(workspace, funnel_id, fields.normalised(), 1, now, now)

    @property
    def conversion_window(self) -> timedelta:
        return self.fields.conversion_window or DEFAULT_WINDOW

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.workspace}/{self.id}/{self.version}".encode(), digest_size=8).hexdigest()

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"etag {etag!r} is stale: the funnel changed since it was read (current etag "
                          f"{self.etag!r}); read it again and retry")

    def update(self, incoming: FunnelFields, paths: set[str], now: datetime) -> bool:
        """Applies the `paths` (checked by check_paths) of `incoming`; False when nothing changed."""
        changed = dataclasses.replace(self.fields, **{p: getattr(incoming, p) for p in paths})
        changed.check()
        changed = changed.normalised()
        if changed == self.fields:
            return False
        self.fields, self.version, self.update_time = changed, self.version + 1, now
        return True


@dataclass(frozen=True)
class FunnelFilter:
    """ListFunnels' filter: `labels.team = growth`, `labels.team != x`, `labels.team:*`, joined by AND."""

    equal: tuple[tuple[str, str], ...] = ()
    not_equal: tuple[tuple[str, str], ...] = ()
    present: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FunnelFilter:
        equal, not_equal, present = [], [], []
        for term in parse_filter(text):
            key = term.field.removeprefix("labels.")
            if not term.field.startswith("labels.") or not key:
                raise InvalidArgument(FieldViolation("filter", f"cannot filter on {term.field!r}; use labels.<key>"))
            if term.op == "=":
                equal.append((key, term.value))
            elif term.op == "!=":
                not_equal.append((key, term.value))
            else:
                present.append(key)
        return cls(tuple(equal), tuple(not_equal), tuple(present))

    def matches(self, funnel: Funnel) -> bool:
        labels = funnel.fields.labels
        return (all(labels.get(k) == v for k, v in self.equal)
                and all(labels.get(k) != v for k, v in self.not_equal)
                and all(k in labels for k in self.present))

    def key(self) -> list:
        return [sorted(self.equal), sorted(self.not_equal), sorted(self.present)]


@dataclass(frozen=True)
class StepResult:
    index: int
    display_name: str
    profiles: int
    conversion_rate: float  # profiles / profiles of the first step
    step_conversion_rate: float  # profiles / profiles of the previous step; 1 for the first


def step_results(steps: tuple[FunnelStep, ...], reached: list[int]) -> list[StepResult]:
    out = []
    for i, (step, profiles) in enumerate(zip(steps, reached, strict=True)):
        first, previous = reached[0], reached[i - 1] if i else profiles
        out.append(StepResult(i, step.label, profiles, profiles / first if first else 0.0,
                              1.0 if i == 0 else (profiles / previous if previous else 0.0)))
    return out
