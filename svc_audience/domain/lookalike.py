"""Lookalike audiences: profiles that resemble a seed segment's members.

A model fitted on the workspace's profiles (seed members against the others)
scores every profile in [0, 1]; the score is kept on the profile under
`scores.<lookalike id>`. The lookalike's segment (KIND_LOOKALIKE) holds the
profiles scoring at least the threshold the cutoff gives (the top N, or a
minimum score), seed members left out unless asked for: one database filter.

Lifecycle: TRAINING (the worker owes a fit or a re-cut) -> READY or FAILED."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, FieldViolation

from svc_audience.domain.behaviour import EVENT_NAME
from svc_audience.domain.segments import compile_rule, parse_definition

TRAINING, READY, FAILED = "TRAINING", "READY", "FAILED"
FIT, CUT = "fit", "cut"  # what the worker owes: a new model, or only a new threshold
KIND = "lookalike"  # Segment.kind of the segment a lookalike maintains
SEGMENT_PREFIX = "lookalike-"
MIN_SEED = 10
NOBODY = 2.0  # a threshold no score reaches (scores are at most 1)
# Feature names beside attribute keys and event names: the profile's own fields.
PROFILE_FEATURES = ("email", "phone", "locale", "time_zone", "device_tokens")
CONSENT_FEATURES = tuple(f"consents.{c.value.lower()}" for c in Channel)


@dataclass(frozen=True)
class Quality:
    precision_at_n: float  # share of held-out seed members among the N best-scored candidates
    baseline_precision: float  # the same share for a random pick: held-out / candidates
    auc: float
    seed_size: int  # seed members the model was fitted on
    held_out: int


@dataclass(frozen=True)
class Progress:
    done: int = 0
    total: int = 0
    start_ms: int = 0
    update_ms: int = 0


@dataclass
class Lookalike:
    workspace: str
    lookalike_id: str
    display_name: str
    seed_segment: str  # segment id in the same workspace
    description: str = ""
    top_n: int | None = None
    min_score: float | None = None
    features: tuple[str, ...] = ()
    include_seed_members: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    state: str = TRAINING
    state_message: str = ""
    pending: str = FIT
    generation: int = 1  # bumped by every request for work; a job's outcome counts only for its generation
    progress: Progress = Progress()
    quality: Quality | None = None
    size: int = 0
    threshold: float | None = None
    fit_time: datetime | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: int = 1
    request_id: str = ""
    request_fingerprint: str = ""

    @property
    def segment_id(self) -> str:
        return SEGMENT_PREFIX + self.lookalike_id

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/lookalikes/{self.lookalike_id}"

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.workspace}/{self.lookalike_id}/{self.version}".encode(),
                               digest_size=8).hexdigest()

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"etag {etag!r} is stale: {self.name} changed since it was read (current etag "
                          f"{self.etag!r}); read it again and retry")


def check_fields(display_name: str, description: str, top_n: int | None, min_score: float | None,
                 features: tuple[str, ...], labels: dict[str, str], prefix: str = "lookalike.",
                 cutoff: bool = True) -> list[FieldViolation]:
    """The rules that need more than one field or parse a value. The lengths, the ranges of top_n and
    min_score, at most 200 features and the labels' format are rules of segment.proto, enforced on every
    request by the server interceptor (svc_kit.validation)."""
    problems = []
    if not display_name.strip():
        problems.append(FieldViolation(prefix + "display_name", "required, at most 200 characters"))
    if cutoff and (top_n is None) == (min_score is None):
        problems.append(FieldViolation(prefix + "cutoff", "set exactly one of top_n and min_score"))
    for i, name in enumerate(features):
        if not (EVENT_NAME.fullmatch(name) or name in CONSENT_FEATURES):
            problems.append(FieldViolation(f"{prefix}features[{i}]", f"{name!r} is not an attribute key, an event "
                                           f"name, one of {', '.join(PROFILE_FEATURES)} or consents.<channel>"))
    if len(set(features)) != len(features):
        problems.append(FieldViolation(prefix + "features", "names a feature twice"))
    return problems


def rule_references(definition: str) -> frozenset[str]:
    """The feature names a segment rule looks at: its attributes, events and
    consents. A lookalike leaves them out by default, or the model would
    only learn the seed's rule back."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("attribute"), str):
                names.add(node["attribute"])
            if isinstance(node.get("event"), str):
                names.add(node["event"])
            if isinstance(node.get("consent"), str):
                names.add(f"consents.{node['consent'].lower()}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(parse_definition(definition))
    return frozenset(names)


def score_path(lookalike_id: str) -> str:
    return f"scores.{lookalike_id}"


def audience_filter(workspace: str, lookalike_id: str, threshold: float | None, excluded_rule: str,
                    now: datetime) -> dict:
    """The lookalike segment's members: the workspace's profiles scoring at
    least the threshold, minus those the excluded rule (the seed's) admits.
    No threshold yet (never fitted): nobody."""
    parts: list[dict] = [{"workspace": workspace},
                         {score_path(lookalike_id): {"$gte": NOBODY if threshold is None else threshold}}]
    if excluded_rule:
        parts.append({"$nor": [compile_rule(parse_definition(excluded_rule), workspace, now)]})
    return {"$and": parts}
