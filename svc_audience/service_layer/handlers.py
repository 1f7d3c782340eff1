"""Profile use cases. Each profile is one document, so a change is one atomic
write guarded by the profile's version (no multi-document transaction needed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument, NotFound
from svc_kit.names import RESOURCE_ID

from svc_audience.adapters.repository import ProfileRepository
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.adapters.snapshot_store import Snapshot, SnapshotStore
from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.suppression import Reason, Suppression
from svc_audience.domain.segments import Segment, compile_rule, parse_definition
from svc_audience.domain.model import EMAIL, EXTERNAL_ID, PHONE, Profile, ProfileData, normalise_email, validate

Clock = Callable[[], datetime]
UPSERT_ATTEMPTS = 3
UPDATABLE = frozenset({"email", "phone", "time_zone", "locale", "device_tokens", "attributes", "consents"})


@dataclass(frozen=True)
class ProfilePage:
    profiles: list[Profile]
    next_page_token: str


def _name(workspace: str, external_id: str) -> str:
    return f"workspaces/{workspace}/profiles/{external_id}"


def _load(repo: ProfileRepository, workspace: str, external_id: str) -> Profile:
    profile = repo.get(workspace, external_id)
    if profile is None:
        raise NotFound(_name(workspace, external_id))
    return profile


def check_external_id(external_id: str, field: str) -> None:
    if not EXTERNAL_ID.fullmatch(external_id):
        raise InvalidArgument(FieldViolation(field, "must be 1-128 characters from A-Z a-z 0-9 . _ ~ @ + -"))


def create_profile(workspace: str, external_id: str, data: ProfileData, repo: ProfileRepository, clock: Clock,
                   validate_only: bool = False) -> Profile:
    check_external_id(external_id, "profile_id")
    profile = Profile(workspace, external_id).merged(data, (), clock())
    if not validate_only:
        repo.add(profile)
    return profile


def get_profile(workspace: str, external_id: str, repo: ProfileRepository) -> Profile:
    return _load(repo, workspace, external_id)


def upsert_profile(workspace: str, external_id: str, data: ProfileData, remove_attributes: tuple[str, ...],
                   etag: str, repo: ProfileRepository, clock: Clock) -> tuple[Profile, bool]:
    """Creates or merges; returns the profile and whether it was created. Without
    an etag a concurrent writer is merged with by retrying; with one, ABORTED."""
    check_external_id(external_id, "name")
    for attempt in range(UPSERT_ATTEMPTS):
        existing = repo.get(workspace, external_id)
        if existing is None and etag:
            raise Aborted(f"etag {etag!r} is stale: {_name(workspace, external_id)} does not exist")
        base = existing or Profile(workspace, external_id)
        base.check_etag(etag)
        merged = base.merged(data, remove_attributes, clock())
        try:
            repo.save(merged, base.version)
            return merged, existing is None
        except Aborted:
            if etag or attempt == UPSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def update_profile(workspace: str, external_id: str, data: ProfileData, paths: frozenset[str], etag: str,
                   repo: ProfileRepository, clock: Clock) -> Profile:
    unknown = sorted(paths - UPDATABLE)
    if not paths or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(UPDATABLE))}"
                                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")))
    problems = validate(data, "profile.")
    if problems:
        raise InvalidArgument(problems)
    profile = _load(repo, workspace, external_id)
    profile.check_etag(etag)
    changes = {}
    for path in paths:
        value = getattr(data, path)
        if path == "email":
            value = normalise_email(value or "")
        elif value is None:
            value = () if path == "device_tokens" else ""
        changes[path] = value
    updated = replace(profile, **changes, update_time=clock(), version=profile.version + 1)
    repo.save(updated, profile.version)
    return updated


def delete_profile(workspace: str, external_id: str, etag: str, repo: ProfileRepository,
                   record_erasure: Callable[[Profile], None]) -> None:
    """Right to erasure. The `profile_erased` event is recorded first, as a
    durable intent; then the profile goes. Should the process die in between,
    the service's own erasure consumer finishes the job when the event arrives."""
    profile = _load(repo, workspace, external_id)
    profile.check_etag(etag)
    record_erasure(profile)
    if not repo.remove(workspace, external_id):
        raise NotFound(_name(workspace, external_id))


def complete_erasure(workspace: str, external_id: str, repo: ProfileRepository,
                     snapshots: SnapshotStore | None = None) -> bool:
    """What a `profile_erased` event asks of this service (idempotent): the
    profile goes, and so does its place in every frozen snapshot."""
    if snapshots is not None:
        snapshots.forget(workspace, external_id)
    return repo.remove(workspace, external_id)


def list_profiles(workspace: str, page_size: int, page_token: str, repo: ProfileRepository) -> ProfilePage:
    page, token = pagination.keyset_page(lambda after, limit: repo.list(workspace, after, limit),
                                         lambda p: p.external_id, page_size, page_token, workspace, "profiles")
    return ProfilePage(page, token)


@dataclass
class ImportSummary:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, id, field, reason)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def reject(self, line: int, external_id: str, field_name: str, reason: str) -> None:
        self.rejections.append((line, external_id, field_name, reason))


@dataclass(frozen=True)
class ImportRecord:
    line: int
    external_id: str
    data: ProfileData


def import_batch(workspace: str, records: list[ImportRecord], replace_existing: bool, validate_only: bool,
                 repo: ProfileRepository, clock: Clock, summary: ImportSummary) -> None:
    """Upserts a batch with one read and one bulk write; a bad record is
    rejected with its line and reason and never stops the others."""
    now = clock()
    valid = []
    for record in records:
        if not EXTERNAL_ID.fullmatch(record.external_id):
            summary.reject(record.line, record.external_id, "id", "must be 1-128 characters from "
                                                                  "A-Z a-z 0-9 . _ ~ @ + -")
        else:
            valid.append(record)
    stored = repo.get_many(workspace, sorted({r.external_id for r in valid}))
    current: dict[str, Profile] = {}
    for record in valid:
        existing = stored.get(record.external_id)
        if record.external_id in current:  # the same id again in this batch: merge onto it
            base = current[record.external_id]
        elif replace_existing:
            base = Profile(workspace, record.external_id, create_time=existing.create_time if existing else None,
                           version=existing.version if existing else 0)
        else:
            base = existing or Profile(workspace, record.external_id)
        try:
            current[record.external_id] = base.merged(record.data, (), now)
        except InvalidArgument as error:
            first = error.violations[0]
            summary.reject(record.line, record.external_id, first.field, first.description)
    if validate_only:
        return
    changes = [(p, stored[i].version if i in stored else 0) for i, p in current.items()]
    conflicts = repo.save_many(changes)
    for external_id in conflicts:  # someone else wrote meanwhile: merge again, one by one
        lines = [r for r in valid if r.external_id == external_id]
        try:
            for record in lines:
                upsert_profile(workspace, external_id, record.data, (), "", repo, clock)
        except (Aborted, InvalidArgument) as error:
            summary.reject(lines[-1].line, external_id, "", str(error))
            current.pop(external_id)
    for external_id in current:
        if external_id in stored:
            summary.updated += 1
        else:
            summary.inserted += 1


# -- segments -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberPage:
    members: list  # external ids, or profiles with full details
    next_page_token: str


def _segment_name(workspace: str, segment_id: str) -> str:
    return f"workspaces/{workspace}/segments/{segment_id}"


def _load_segment(store: SegmentStore, workspace: str, segment_id: str) -> Segment:
    segment = store.get(workspace, segment_id)
    if segment is None:
        raise NotFound(_segment_name(workspace, segment_id))
    return segment


def create_segment(workspace: str, segment_id: str, display_name: str, description: str, definition: str,
                   labels: dict[str, str], store: SegmentStore, clock: Clock, new_id: Callable[[], str],
                   validate_only: bool = False) -> Segment:
    problems = []
    if segment_id and not RESOURCE_ID.fullmatch(segment_id):
        problems.append(FieldViolation("segment_id", "must be 1-63 characters [a-z0-9][a-z0-9-]*"))
    if not display_name.strip() or len(display_name) > 200:
        problems.append(FieldViolation("segment.display_name", "required, at most 200 characters"))
    if problems:
        raise InvalidArgument(problems)
    now = clock()
    compile_rule(parse_definition(definition), workspace, now)  # refuses a bad rule, naming it
    segment = Segment(workspace, segment_id or new_id(), display_name, definition, description, dict(labels),
                      now, now)
    if not validate_only:
        store.add(segment)
    return segment


def get_segment(workspace: str, segment_id: str, store: SegmentStore) -> Segment:
    return _load_segment(store, workspace, segment_id)


def list_segments(workspace: str, page_size: int, page_token: str, store: SegmentStore) -> tuple[list[Segment], str]:
    return pagination.keyset_page(lambda after, limit: store.list(workspace, after, limit), lambda s: s.segment_id,
                                  page_size, page_token, workspace, "segments")


def delete_segment(workspace: str, segment_id: str, store: SegmentStore) -> None:
    if not store.remove(workspace, segment_id):
        raise NotFound(_segment_name(workspace, segment_id))


def _members_query(workspace: str, segment_id: str, channel, store: SegmentStore, clock: Clock,
                   suppressions: SuppressionStore | None = None) -> dict:
    segment = _load_segment(store, workspace, segment_id)
    now = clock()
    compiled = compile_rule(parse_definition(segment.definition), workspace, now)
    not_suppressed = suppressions.exclusion(workspace, channel, now) if channel and suppressions else None
    return store.members_query(compiled, channel, not_suppressed)


def count_members(workspace: str, segment_id: str, channel, store: SegmentStore, clock: Clock,
                  suppressions: SuppressionStore | None = None) -> int:
    return store.count(_members_query(workspace, segment_id, channel, store, clock, suppressions))


def check_membership(workspace: str, segment_id: str, external_ids: list[str], store: SegmentStore,
                     clock: Clock) -> dict[str, bool]:
    if not 0 < len(external_ids) <= 1000:
        raise InvalidArgument(FieldViolation("profiles", "give 1 to 1,000 profiles"))
    members = store.which(_members_query(workspace, segment_id, None, store, clock), external_ids)
    return {external_id: external_id in members for external_id in external_ids}


def members_query(workspace: str, segment_id: str, channel, store: SegmentStore, clock: Clock,
                  suppressions: SuppressionStore | None = None) -> dict:
    """The one database query that selects the members (for streaming them)."""
    return _members_query(workspace, segment_id, channel, store, clock, suppressions)


def list_members(workspace: str, segment_id: str, channel, full: bool, page_size: int, page_token: str,
                 store: SegmentStore, clock: Clock, suppressions: SuppressionStore | None = None) -> MemberPage:
    query = _members_query(workspace, segment_id, channel, store, clock, suppressions)
    page, token = pagination.keyset_page(lambda after, limit: store.members(query, after, limit, full),
                                         lambda m: m.external_id if full else m, page_size, page_token,
                                         workspace, segment_id, channel.value if channel else "", "members")
    return MemberPage(page, token)


# -- suppression --------------------------------------------------------------------------------------------

def create_suppression(workspace: str, subject_kind: str, subject: str, channel,
                       reason: Reason | None, note: str, source: str, expire_time: datetime | None,
                       store: SuppressionStore, clock: Clock, new_id: Callable[[], str]) -> Suppression:
    problems = []
    if subject_kind == "email":
        subject = normalise_email(subject)
        if not EMAIL.fullmatch(subject):
            problems.append(FieldViolation("suppression.email", f"{subject!r} is not an email address"))
    elif subject_kind == "phone" and not PHONE.fullmatch(subject):
        problems.append(FieldViolation("suppression.phone", f"{subject!r} is not an E.164 number"))
    elif subject_kind == "profile" and not EXTERNAL_ID.fullmatch(subject):
        problems.append(FieldViolation("suppression.profile", "not a profile of this workspace"))
    elif subject_kind not in ("email", "phone", "profile"):
        problems.append(FieldViolation("suppression", "set one of email, phone or profile"))
    if reason is None:
        problems.append(FieldViolation("suppression.reason", "required: UNSUBSCRIBED, BOUNCED, COMPLAINED or "
                                                             "MANUAL"))
    if len(note) > 1000:
        problems.append(FieldViolation("suppression.note", "at most 1,000 characters"))
    if problems:
        raise InvalidArgument(problems)
    suppression = Suppression(workspace, new_id(), subject_kind, subject, channel, reason, note,
                              source, "", expire_time, clock())
    store.add(suppression)
    return suppression


def get_suppression(workspace: str, suppression_id: str, store: SuppressionStore) -> Suppression:
    found = store.get(workspace, suppression_id)
    if found is None:
        raise NotFound(f"workspaces/{workspace}/suppressions/{suppression_id}")
    return found


def list_suppressions(workspace: str, page_size: int, page_token: str,
                      store: SuppressionStore) -> tuple[list[Suppression], str]:
    return pagination.keyset_page(lambda after, limit: store.list(workspace, after, limit),
                                  lambda s: s.suppression_id, page_size, page_token, workspace, "suppressions")


def delete_suppression(workspace: str, suppression_id: str, store: SuppressionStore) -> None:
    if not store.remove(workspace, suppression_id):
        raise NotFound(f"workspaces/{workspace}/suppressions/{suppression_id}")


# -- snapshots ----------------------------------------------------------------------------------------------

def create_snapshot(workspace: str, segment_id: str, snapshot_id: str, channel, campaign: str,
                    segments: SegmentStore, snapshots: SnapshotStore, suppressions: SuppressionStore,
                    clock: Clock, new_id: Callable[[], str]) -> Snapshot:
    if snapshot_id and not RESOURCE_ID.fullmatch(snapshot_id):
        raise InvalidArgument(FieldViolation("segment_snapshot_id", "must be 1-63 characters [a-z0-9][a-z0-9-]*"))
    segment = _load_segment(segments, workspace, segment_id)
    query = _members_query(workspace, segment_id, channel, segments, clock, suppressions)
    snapshot = Snapshot(workspace, segment_id, snapshot_id or new_id(), channel.value if channel else "",
                        campaign, segment.definition, 0, clock())
    return snapshots.create(snapshot, segments.stream(query, "", False, 5000))


def get_snapshot(workspace: str, segment_id: str, snapshot_id: str, snapshots: SnapshotStore) -> Snapshot:
    found = snapshots.get(workspace, segment_id, snapshot_id)
    if found is None:
        raise NotFound(f"{_segment_name(workspace, segment_id)}/snapshots/{snapshot_id}")
    return found


def list_snapshots(workspace: str, segment_id: str, page_size: int, page_token: str,
                   snapshots: SnapshotStore) -> tuple[list[Snapshot], str]:
    return pagination.keyset_page(lambda after, limit: snapshots.list(workspace, segment_id, after, limit),
                                  lambda s: s.snapshot_id, page_size, page_token, workspace, segment_id, "snapshots")


def delete_snapshot(workspace: str, segment_id: str, snapshot_id: str, snapshots: SnapshotStore) -> None:
    if not snapshots.remove(workspace, segment_id, snapshot_id):
        raise NotFound(f"{_segment_name(workspace, segment_id)}/snapshots/{snapshot_id}")


def list_snapshot_members(workspace: str, segment_id: str, snapshot_id: str, page_size: int, page_token: str,
                          snapshots: SnapshotStore) -> MemberPage:
    get_snapshot(workspace, segment_id, snapshot_id, snapshots)
    page, token = pagination.keyset_page(
        lambda after, limit: snapshots.member_ids(workspace, segment_id, snapshot_id, after, limit),
        lambda m: m, page_size, page_token, workspace, segment_id, snapshot_id, "snapshot-members")
    return MemberPage(page, token)
