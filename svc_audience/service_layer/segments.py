"""Segment use cases: definitions, membership (counted, checked, listed or
streamed by one database query), static segments' explicit members, and
frozen snapshots for launches."""

from __future__ import annotations

import hashlib

from collections.abc import Callable
from dataclasses import dataclass, replace

from svc_kit import pagination
from svc_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound

from svc_audience.domain.lookalike import KIND as LOOKALIKE_KIND
from svc_audience.domain.lookalike import audience_filter
from svc_audience.domain.segments import (MAX_STATIC_CHANGE, STATIC, Segment, compile_rule, parse_definition,
                                          static_filter)
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.ports import ProfileRepository, Segments, Snapshot, Snapshots, Suppressions


@dataclass(frozen=True)
class MemberPage:
    members: list  # external ids, or profiles with full details
    next_page_token: str


def _segment_name(workspace: str, segment_id: str) -> str:
    return f"workspaces/{workspace}/segments/{segment_id}"


def _load_segment(store: Segments, workspace: str, segment_id: str) -> Segment:
    segment = store.get(workspace, segment_id)
    if segment is None:
        raise NotFound(_segment_name(workspace, segment_id))
    return segment


def create_segment(workspace: str, segment_id: str, display_name: str, description: str, definition: str,
                   labels: dict[str, str], store: Segments, clock: Clock, new_id: Callable[[], str],
                   validate_only: bool = False, upkeep=None, kind: str = "rules") -> Segment:
    """A rules segment (its definition validated), or with kind "static" a segment with no rule whose members
    are added and removed explicitly (add_members / remove_members)."""
    problems = []
    # segment_id's format: a rule of audience_service.proto (svc_kit.validation).
    if not display_name.strip():  # at most 200 characters: a rule of segment.proto
        problems.append(FieldViolation("segment.display_name", "required, at most 200 characters"))
    if problems:
        raise InvalidArgument(problems)
    now = clock()
    if kind == STATIC:
        if definition:
            raise InvalidArgument(FieldViolation("segment.definition", "a static segment has no rule: leave it "
                                                 "empty (its members are added with AddSegmentMembers)"))
    else:
        compile_rule(parse_definition(definition), workspace, now)  # refuses a bad rule, naming it
    segment = Segment(workspace, segment_id or new_id(), display_name, definition, description, dict(labels),
                      now, now, kind=kind)
    if not validate_only:
        store.add(segment)
        if upkeep is not None:
            upkeep.request(workspace, segment.segment_id)
    return segment


def get_segment(workspace: str, segment_id: str, store: Segments) -> Segment:
    return _load_segment(store, workspace, segment_id)


def list_segments(workspace: str, page_size: int, page_token: str, store: Segments) -> tuple[list[Segment], str]:
    return pagination.keyset_page(lambda after, limit: store.list(workspace, after, limit), lambda s: s.segment_id,
                                  page_size, page_token, workspace, "segments")


def delete_segment(workspace: str, segment_id: str, store: Segments, upkeep=None,
                   profiles: ProfileRepository | None = None, clock: Clock | None = None) -> None:
    """`segment_deleted` is announced first (a durable intent), then the
    segment and its memberships go (a static segment's: from its members' profiles too, so that a segment
    made again with the same id starts empty)."""
    segment = _load_segment(store, workspace, segment_id)
    check_writable(segment, store, deleting=True)
    if segment.kind == STATIC and profiles is not None and clock is not None:
        members = list(store.stream(static_filter(workspace, segment_id), "", False, 5000))
        for start in range(0, len(members), MAX_STATIC_CHANGE):
            _change_static(workspace, segment_id, members[start:start + MAX_STATIC_CHANGE], False, profiles,
                           clock)
    if upkeep is not None:
        upkeep.segment_deleted(workspace, segment_id)
    if not store.remove(workspace, segment_id):
        raise NotFound(_segment_name(workspace, segment_id))


def refresh_segment(workspace: str, segment_id: str, store: Segments, upkeep) -> Segment:
    """Asks for a full recomputation of the memberships now."""
    segment = _load_segment(store, workspace, segment_id)
    upkeep.request(workspace, segment_id)
    return segment


def check_writable(segment: Segment, store: Segments, deleting: bool = False) -> None:
    """A lookalike's segment changes only through its lookalike; a seed stays while a lookalike uses it."""
    name = _segment_name(segment.workspace, segment.segment_id)
    if segment.kind == LOOKALIKE_KIND:
        raise FailedPrecondition(f"{name} is kept by the lookalike workspaces/{segment.workspace}/lookalikes/"
                                 f"{segment.lookalike}; update or delete the lookalike instead")
    if deleting and (user := store.lookalike_seeded_by(segment.workspace, segment.segment_id)) is not None:
        raise FailedPrecondition(f"{name} is the seed of the lookalike workspaces/{segment.workspace}/lookalikes/"
                                 f"{user.lookalike}; delete the lookalike first")


SEGMENT_FIELDS = frozenset({"display_name", "description", "definition", "labels"})


def segment_etag(segment: Segment) -> str:
    return hashlib.blake2b(f"{segment.workspace}/{segment.segment_id}/{segment.version}".encode(),
                           digest_size=8).hexdigest()


def update_segment(workspace: str, segment_id: str, changes: dict, paths: frozenset[str], etag: str,
                   store: Segments, clock: Clock, upkeep=None, validate_only: bool = False) -> Segment:
    """Changes the named fields of a rule segment; a new definition is
    validated like a new segment's and its memberships are recomputed."""
    paths = SEGMENT_FIELDS if "*" in paths else paths
    unknown = sorted(paths - SEGMENT_FIELDS)
    if not paths or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(SEGMENT_FIELDS))}"
                                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")))
    segment = _load_segment(store, workspace, segment_id)
    check_writable(segment, store)
    if etag and etag != segment_etag(segment):
        raise Aborted(f"etag {etag!r} is stale: the segment changed since it was read; read it again and retry")
    fields = {p: changes[p] for p in paths}
    if "display_name" in fields and not fields["display_name"].strip():
        raise InvalidArgument(FieldViolation("segment.display_name", "required, at most 200 characters"))
    now = clock()
    if "definition" in fields and segment.kind == STATIC:
        raise InvalidArgument(FieldViolation("segment.definition", "a static segment has no rule; its members "
                                             "change with AddSegmentMembers and RemoveSegmentMembers"))
    if "definition" in fields:
        compile_rule(parse_definition(fields["definition"]), workspace, now)
    updated = replace(segment, **fields, update_time=now, version=segment.version + 1)
    if validate_only:
        return updated
    store.replace(updated, segment.version)
    if upkeep is not None and updated.definition != segment.definition:
        upkeep.request(workspace, segment_id)
    return updated


def segment_filter(segment: Segment, now) -> dict:
    """The one database filter selecting the segment's members at `now`."""
    if segment.kind == STATIC:
        return static_filter(segment.workspace, segment.segment_id)
    if segment.kind == LOOKALIKE_KIND:
        return audience_filter(segment.workspace, segment.lookalike, segment.threshold, segment.excluded_rule, now)
    return compile_rule(parse_definition(segment.definition), segment.workspace, now)


def _members_query(workspace: str, segment_id: str, channel, store: Segments, clock: Clock,
                   suppressions: Suppressions | None = None) -> dict:
    segment = _load_segment(store, workspace, segment_id)
    now = clock()
    compiled = segment_filter(segment, now)
    not_suppressed = suppressions.exclusion(workspace, channel, now) if channel and suppressions else None
    return store.members_query(compiled, channel, not_suppressed)


def count_members(workspace: str, segment_id: str, channel, store: Segments, clock: Clock,
                  suppressions: Suppressions | None = None) -> int:
    return store.count(_members_query(workspace, segment_id, channel, store, clock, suppressions))


def check_membership(workspace: str, segment_id: str, external_ids: list[str], store: Segments,
                     clock: Clock) -> dict[str, bool]:
    if not 0 < len(external_ids) <= 1000:
        raise InvalidArgument(FieldViolation("profiles", "give 1 to 1,000 profiles"))
    members = store.which(_members_query(workspace, segment_id, None, store, clock), external_ids, workspace)
    return {external_id: external_id in members for external_id in external_ids}


def members_query(workspace: str, segment_id: str, channel, store: Segments, clock: Clock,
                  suppressions: Suppressions | None = None) -> dict:
    """The one database query that selects the members (for streaming them)."""
    return _members_query(workspace, segment_id, channel, store, clock, suppressions)


def list_members(workspace: str, segment_id: str, channel, full: bool, page_size: int, page_token: str,
                 store: Segments, clock: Clock, suppressions: Suppressions | None = None) -> MemberPage:
    query = _members_query(workspace, segment_id, channel, store, clock, suppressions)
    page, token = pagination.keyset_page(lambda after, limit: store.members(query, after, limit, full),
                                         lambda m: m.external_id if full else m, page_size, page_token,
                                         workspace, segment_id, channel.value if channel else "", "members")
    return MemberPage(page, token)



def create_snapshot(workspace: str, segment_id: str, snapshot_id: str, channel, campaign: str,
                    segments: Segments, snapshots: Snapshots, suppressions: Suppressions,
                    clock: Clock, new_id: Callable[[], str]) -> Snapshot:
    # segment_snapshot_id's format: a rule of audience_service.proto (svc_kit.validation).
    segment = _load_segment(segments, workspace, segment_id)
    query = _members_query(workspace, segment_id, channel, segments, clock, suppressions)
    snapshot = Snapshot(workspace, segment_id, snapshot_id or new_id(), channel.value if channel else "",
                        campaign, segment.definition, 0, clock())
    return snapshots.create(snapshot, segments.stream(query, "", False, 5000))


def get_snapshot(workspace: str, segment_id: str, snapshot_id: str, snapshots: Snapshots) -> Snapshot:
    found = snapshots.get(workspace, segment_id, snapshot_id)
    if found is None:
        raise NotFound(f"{_segment_name(workspace, segment_id)}/snapshots/{snapshot_id}")
    return found


def list_snapshots(workspace: str, segment_id: str, page_size: int, page_token: str,
                   snapshots: Snapshots) -> tuple[list[Snapshot], str]:
    return pagination.keyset_page(lambda after, limit: snapshots.list(workspace, segment_id, after, limit),
                                  lambda s: s.snapshot_id, page_size, page_token, workspace, segment_id, "snapshots")


def delete_snapshot(workspace: str, segment_id: str, snapshot_id: str, snapshots: Snapshots) -> None:
    if not snapshots.remove(workspace, segment_id, snapshot_id):
        raise NotFound(f"{_segment_name(workspace, segment_id)}/snapshots/{snapshot_id}")


def list_snapshot_members(workspace: str, segment_id: str, snapshot_id: str, page_size: int, page_token: str,
                          snapshots: Snapshots) -> MemberPage:
    get_snapshot(workspace, segment_id, snapshot_id, snapshots)
    page, token = pagination.keyset_page(
        lambda after, limit: snapshots.member_ids(workspace, segment_id, snapshot_id, after, limit),
        lambda m: m, page_size, page_token, workspace, segment_id, snapshot_id, "snapshot-members")
    return MemberPage(page, token)


# ---- static segments: explicit members --------------------------------------------------------------

@dataclass(frozen=True)
class StaticChange:
    changed: list[str]  # profiles whose membership changed (added, or removed)
    unchanged: list[str]  # already members (add) or not members (remove): nothing to do
    not_found: list[str]  # no such profile in the workspace


def _change_static(workspace: str, segment_id: str, external_ids: list[str], adding: bool,
                   profiles: ProfileRepository, clock: Clock, attempts: int = 5) -> StaticChange:
    """Writes the segment id into (or out of) each profile's static_segments, version-guarded; the write marks
    the profile stale, so segment upkeep publishes segment_updated for whoever moved (as for rule segments)."""
    wanted = list(dict.fromkeys(external_ids))
    changed: list[str] = []
    unchanged: list[str] = []
    not_found: list[str] = []
    pending = wanted
    for _ in range(attempts):
        found = profiles.get_many(workspace, pending)
        writes = []
        for external_id in pending:
            profile = found.get(external_id)
            if profile is None:
                not_found.append(external_id)
                continue
            member = segment_id in profile.static_segments
            if member == adding:
                unchanged.append(external_id)
                continue
            ids = (*profile.static_segments, segment_id) if adding else \
                tuple(s for s in profile.static_segments if s != segment_id)
            writes.append((replace(profile, static_segments=ids, version=profile.version + 1,
                                   update_time=clock()), profile.version))
        conflicts = profiles.save_many(writes) if writes else set()
        changed.extend(p.external_id for p, _ in writes if p.external_id not in conflicts)
        pending = [p.external_id for p, _ in writes if p.external_id in conflicts]
        if not pending:
            break
    if pending:
        raise Aborted(f"{len(pending)} profiles kept changing while their static segments were written; retry")
    return StaticChange(changed, unchanged, not_found)


def change_static_members(workspace: str, segment_id: str, external_ids: list[str], adding: bool,
                          segments: Segments, profiles: ProfileRepository, clock: Clock) -> StaticChange:
    """AddSegmentMembers / RemoveSegmentMembers: idempotent (a member added again, or a non-member removed,
    changes nothing); profiles that do not exist are reported, not created."""
    if not 0 < len(external_ids) <= MAX_STATIC_CHANGE:
        raise InvalidArgument(FieldViolation("profiles", f"give 1 to {MAX_STATIC_CHANGE:,} profiles"))
    segment = _load_segment(segments, workspace, segment_id)
    if segment.kind != STATIC:
        raise FailedPrecondition(f"{_segment_name(workspace, segment_id)} is a {segment.kind} segment: its members "
                                 f"follow its {'rule' if segment.kind == 'rules' else 'lookalike'}; only a static "
                                 f"segment's members are added and removed", metadata={"kind": segment.kind})
    return _change_static(workspace, segment_id, external_ids, adding, profiles, clock)
