"""Profile use cases. Each profile is one document, so a change is one atomic
write guarded by the profile's version (no multi-document transaction needed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import Aborted, FieldViolation, InvalidArgument, NotFound

from svc_audience.domain.model import EXTERNAL_ID, Profile, ProfileData, normalise_email, validate
from svc_audience.service_layer.ports import ProfileRepository, Snapshots

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
                   record_erasure: Callable[[Profile], str | None]) -> str | None:
    """Right to erasure. The `profile_erased` event is recorded first, as a
    durable intent; then the profile goes. Should the process die in between,
    the service's own erasure consumer finishes the job when the event arrives."""
    profile = _load(repo, workspace, external_id)
    profile.check_etag(etag)
    erasure_id = record_erasure(profile)
    if not repo.remove(workspace, external_id):
        raise NotFound(_name(workspace, external_id))
    return erasure_id


def complete_erasure(workspace: str, external_id: str, repo: ProfileRepository,
                     snapshots: Snapshots | None = None, upkeep=None) -> bool:
    """What a `profile_erased` event asks of this service (idempotent): the
    profile goes, and so does its place in every frozen snapshot and segment."""
    if snapshots is not None:
        snapshots.forget(workspace, external_id)
    removed = repo.remove(workspace, external_id)
    if upkeep is not None:
        upkeep.forget_profile(workspace, external_id)
    return removed


def complete_erasure_counted(workspace: str, external_id: str, repo: ProfileRepository,
                             snapshots: Snapshots | None = None, upkeep=None) -> dict[str, int]:
    """complete_erasure, with what the erasure removed by kind (an erasure request's audience counts).
    The profile itself counts once: DeleteProfile usually removed it before this runs."""
    snapshot_rows = snapshots.forget(workspace, external_id) if snapshots is not None else 0
    repo.remove(workspace, external_id)
    segments = upkeep.forget_profile(workspace, external_id) if upkeep is not None else 0
    return {"profiles": 1, "snapshotMemberships": int(snapshot_rows or 0), "segmentMemberships": int(segments or 0)}


def batch_get_profiles(workspace: str, external_ids: list[str], allow_missing: bool,
                       repo: ProfileRepository) -> list[Profile]:
    """The profiles in the order asked (an id asked twice comes twice); a
    missing one is NOT_FOUND unless allow_missing leaves it out."""
    if not 0 < len(external_ids) <= 1000:
        raise InvalidArgument(FieldViolation("names", "give 1 to 1,000 profiles"))
    found = repo.get_many(workspace, sorted(set(external_ids)))
    missing = [i for i in external_ids if i not in found]
    if missing and not allow_missing:
        raise NotFound(_name(workspace, missing[0]))
    return [found[i] for i in external_ids if i in found]


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
