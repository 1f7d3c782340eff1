"""Lookalike use cases: create (with the segment it keeps), read, list,
change, delete and refit. Fitting itself runs in the background worker
(service_layer/lookalike_fitting.py); these only say what it owes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from svc_kit import pagination
from svc_kit.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.idempotency import replayed
from svc_kit.names import name_field

from svc_audience.domain.lookalike import CUT, FIT, KIND, MIN_SEED, TRAINING, Lookalike, Progress, \
    check_fields
from svc_audience.domain.segments import Segment
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.segments import segment_filter
from svc_audience.service_layer.ports import Lookalikes, Segments

UPDATABLE = frozenset({"display_name", "description", "labels", "top_n", "min_score", "features",
                       "include_seed_members"})
CUTOFF_PATHS = frozenset({"top_n", "min_score", "cutoff"})
Wake = Callable[[], None]


@dataclass(frozen=True)
class LookalikeSpec:
    """What a caller writes on a lookalike."""

    display_name: str = ""
    description: str = ""
    seed_segment: str = ""  # workspaces/{workspace}/segments/{segment}
    top_n: int | None = None
    min_score: float | None = None
    features: tuple[str, ...] = ()
    include_seed_members: bool = False
    labels: dict[str, str] | None = None


def _name(workspace: str, lookalike_id: str) -> str:
    return f"workspaces/{workspace}/lookalikes/{lookalike_id}"


def _load(store: Lookalikes, workspace: str, lookalike_id: str) -> Lookalike:
    found = store.get(workspace, lookalike_id)
    if found is None:
        raise NotFound(_name(workspace, lookalike_id))
    return found


def _fingerprint(workspace: str, lookalike_id: str, spec: LookalikeSpec) -> str:
    text = json.dumps([workspace, lookalike_id, asdict(spec)], sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _seed(workspace: str, seed_name: str, segments: Segments, clock: Clock) -> Segment:
    """The seed segment: a rules segment of the workspace with at least MIN_SEED members."""
    seed_workspace, seed_id = name_field(seed_name, "segments", "lookalike.seed_segment")

    def refuse(why: str) -> FailedPrecondition:
        return FailedPrecondition(f"lookalike.seed_segment: {why}", [FieldViolation("lookalike.seed_segment", why)],
                                  violation_type="SEED_SEGMENT")

    if seed_workspace != workspace:
        raise refuse(f"{seed_name} belongs to another workspace; the seed is a segment of workspaces/{workspace}")
    seed = segments.get(workspace, seed_id)
    if seed is None:
        raise refuse(f"{seed_name} does not exist")
    if seed.kind != "rules":
        raise refuse(f"{seed_name} is a {seed.kind} segment; the seed must be a rules segment")
    size = segments.count(segment_filter(seed, clock()))
    if size < MIN_SEED:
        raise refuse(f"{seed_name} has {size} members; a lookalike needs a seed of at least {MIN_SEED}")
    return seed


def create_lookalike(workspace: str, lookalike_id: str, spec: LookalikeSpec, request_id: str, validate_only: bool,
                     lookalikes: Lookalikes, segments: Segments, clock: Clock, new_id: Callable[[], str],
                     wake: Wake | None = None) -> Lookalike:
    problems = check_fields(spec.display_name, spec.description, spec.top_n, spec.min_score, spec.features,
                            spec.labels or {})
    # lookalike_id's format (1-53 characters, its segment is lookalike-<id>) and request_id's length: rules of
    # audience_service.proto (svc_kit.validation).
    if not spec.seed_segment:
        problems.append(FieldViolation("lookalike.seed_segment", "required: workspaces/{workspace}/segments/{id}"))
    if problems:
        raise InvalidArgument(problems)
    fingerprint = _fingerprint(workspace, lookalike_id, spec)
    if request_id and (earlier := lookalikes.find_by_request_id(workspace, request_id)) is not None:
        return replayed(earlier, earlier.request_fingerprint, fingerprint, request_id, earlier.name)
    seed = _seed(workspace, spec.seed_segment, segments, clock)
    now = clock()
    lookalike = Lookalike(workspace, lookalike_id or "l" + new_id(), spec.display_name, seed.segment_id,
                          spec.description, spec.top_n, spec.min_score, spec.features, spec.include_seed_members,
                          dict(spec.labels or {}), create_time=now, update_time=now, request_id=request_id,
                          request_fingerprint=fingerprint if request_id else "")
    if validate_only:
        return lookalike
    lookalikes.add(lookalike)
    try:
        segments.add(Segment(workspace, lookalike.segment_id, lookalike.display_name, "", lookalike.description,
                             {}, now, now, kind=KIND, lookalike=lookalike.lookalike_id, seed_segment=seed.segment_id))
    except AlreadyExists:
        lookalikes.remove(workspace, lookalike.lookalike_id)
        raise AlreadyExists(f"workspaces/{workspace}/segments/{lookalike.segment_id} already exists; a lookalike "
                            "keeps the segment lookalike-<lookalike id>, so choose another lookalike_id") from None
    if wake:
        wake()
    return lookalike


def get_lookalike(workspace: str, lookalike_id: str, lookalikes: Lookalikes) -> Lookalike:
    return _load(lookalikes, workspace, lookalike_id)


def list_lookalikes(workspace: str, page_size: int, page_token: str,
                    lookalikes: Lookalikes) -> tuple[list[Lookalike], str]:
    return pagination.keyset_page(lambda after, limit: lookalikes.list(workspace, after, limit),
                                  lambda lookalike: lookalike.lookalike_id, page_size, page_token, workspace,
                                  "lookalikes")


def _owe(lookalike: Lookalike, work: str) -> Lookalike:
    """The lookalike back in TRAINING, owing `work` (a fit already owed stays owed)."""
    if lookalike.pending == FIT or lookalike.fit_time is None:
        work = FIT
    return replace(lookalike, state=TRAINING, state_message="", pending=work, generation=lookalike.generation + 1,
                   progress=Progress())


def update_lookalike(workspace: str, lookalike_id: str, spec: LookalikeSpec, paths: frozenset[str], etag: str,
                     lookalikes: Lookalikes, clock: Clock, wake: Wake | None = None) -> Lookalike:
    if "*" in paths:
        paths = UPDATABLE
    unknown = sorted(paths - UPDATABLE - CUTOFF_PATHS)
    if not paths or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(UPDATABLE))}"
                                             + (f"; cannot change: {', '.join(unknown)}" if unknown else "")))
    current = _load(lookalikes, workspace, lookalike_id)
    current.check_etag(etag)
    changes: dict = {}
    for path in paths & {"display_name", "description", "features", "include_seed_members"}:
        changes[path] = getattr(spec, path)
    if "labels" in paths:
        changes["labels"] = dict(spec.labels or {})
    if paths & CUTOFF_PATHS:
        changes["top_n"], changes["min_score"] = spec.top_n, spec.min_score
    updated = replace(current, **changes)
    problems = check_fields(updated.display_name, updated.description, updated.top_n, updated.min_score,
                            updated.features, updated.labels)
    if problems:
        raise InvalidArgument(problems)
    if updated.features != current.features:
        updated = _owe(updated, FIT)
    elif (updated.top_n, updated.min_score, updated.include_seed_members) != \
            (current.top_n, current.min_score, current.include_seed_members):
        updated = _owe(updated, CUT)
    updated = replace(updated, update_time=clock(), version=current.version + 1)
    lookalikes.save(updated, current.version)
    if (updated.display_name, updated.description) != (current.display_name, current.description):
        lookalikes.rename_segment(workspace, updated.segment_id, updated.display_name, updated.description)
    if wake and updated.pending:
        wake()
    return updated


def refit_lookalike(workspace: str, lookalike_id: str, etag: str, lookalikes: Lookalikes, clock: Clock,
                    wake: Wake | None = None) -> Lookalike:
    current = _load(lookalikes, workspace, lookalike_id)
    current.check_etag(etag)
    updated = replace(_owe(current, FIT), update_time=clock(), version=current.version + 1)
    lookalikes.save(updated, current.version)
    if wake:
        wake()
    return updated


def delete_lookalike(workspace: str, lookalike_id: str, etag: str, lookalikes: Lookalikes,
                     segments: Segments, upkeep=None) -> None:
    """The lookalike, its segment (announced as deleted first) and its scores go."""
    current = _load(lookalikes, workspace, lookalike_id)
    current.check_etag(etag)
    if upkeep is not None:
        upkeep.segment_deleted(workspace, current.segment_id)
    segments.remove(workspace, current.segment_id)
    if not lookalikes.remove(workspace, lookalike_id):
        raise NotFound(_name(workspace, lookalike_id))
    lookalikes.remove_scores(workspace, lookalike_id)
