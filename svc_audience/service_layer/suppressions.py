"""Suppression list use cases: create, read, list with a filter, update with an
etag, delete, bulk import, export, and the unsubscribe link."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import Aborted, AlreadyExists, FieldViolation, InvalidArgument, NotFound
from svc_kit.signing import LinkClaims

from svc_audience.domain.suppression import (
    UNSUBSCRIBE_SOURCE,
    Entry,
    Reason,
    Suppression,
    changed,
    parse_suppression_filter,
    refreshed,
    validated,
)
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.ports import Suppressions

NewId = Callable[[], str]


def _name(workspace: str, suppression_id: str) -> str:
    return f"workspaces/{workspace}/suppressions/{suppression_id}"


def _load(store: Suppressions, workspace: str, suppression_id: str) -> Suppression:
    found = store.get(workspace, suppression_id)
    if found is None:
        raise NotFound(_name(workspace, suppression_id))
    return found


def _new(workspace: str, entry: Entry, new_id: NewId, now: datetime) -> Suppression:
    return Suppression(workspace, new_id(), entry.subject_kind, entry.subject, entry.channel, entry.reason,
                       entry.note, entry.source, entry.campaign, entry.expire_time, now, now, 1)


def _insert(workspace: str, entry: Entry, store: Suppressions, now: datetime, new_id: NewId) -> Suppression:
    """Adds the entry; an expired entry of the same key is replaced (it no longer
    exists as far as anyone can tell), a live one answers AlreadyExists naming it."""
    suppression = _new(workspace, entry, new_id, now)
    try:
        store.add(suppression)
    except AlreadyExists:
        existing = store.find(workspace, entry.key)
        if existing is None or existing.active(now):
            raise
        store.remove(workspace, existing.suppression_id, existing.version)
        store.add(suppression)
    return suppression


def create_suppression(workspace: str, entry: Entry, store: Suppressions, clock: Clock,
                       new_id: NewId) -> Suppression:
    """One entry per subject and channel: a second answers ALREADY_EXISTS naming the first."""
    now = clock()
    return _insert(workspace, validated(entry, now), store, now, new_id)


def get_suppression(workspace: str, suppression_id: str, store: Suppressions) -> Suppression:
    return _load(store, workspace, suppression_id)


def list_suppressions(workspace: str, filter_text: str, page_size: int, page_token: str,
                      store: Suppressions) -> tuple[list[Suppression], str]:
    """Newest first, a page at a time; the token only works with the same filter."""
    conditions = parse_suppression_filter(filter_text, workspace)
    return pagination.keyset_page(lambda before, limit: store.list(workspace, conditions, before, limit),
                                  lambda s: s.suppression_id, page_size, page_token, workspace, filter_text,
                                  "suppressions")


def update_suppression(workspace: str, suppression_id: str, reason: Reason | None, note: str,
                       expire_time: datetime | None, paths: frozenset[str], etag: str, store: Suppressions,
                       clock: Clock) -> Suppression:
    current = _load(store, workspace, suppression_id)
    current.check_etag(etag)
    updated = changed(current, reason, note, expire_time, paths, clock())
    store.save(updated, current.version)
    return updated


def delete_suppression(workspace: str, suppression_id: str, etag: str, store: Suppressions) -> None:
    current = _load(store, workspace, suppression_id)
    current.check_etag(etag)
    if not store.remove(workspace, suppression_id, current.version if etag else None):
        if etag:
            raise Aborted(f"{current.name} changed since it was read; read it again and retry")
        raise NotFound(_name(workspace, suppression_id))


def export_suppressions(workspace: str, filter_text: str, batch_size: int,
                        store: Suppressions) -> Iterator[Suppression]:
    """Every entry the filter selects, from one database cursor (the filter is checked first)."""
    if not 0 <= batch_size <= 10_000:
        raise InvalidArgument(FieldViolation("batch_size", "from 1 to 10,000 (default 1,000)"))
    conditions = parse_suppression_filter(filter_text, workspace)
    return store.stream(workspace, conditions, batch_size or 1000)


# -- bulk import -------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, subject, field, reason)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    def reject(self, line: int, subject: str, field_name: str, reason: str) -> None:
        self.rejections.append((line, subject, field_name, reason))


@dataclass(frozen=True)
class ImportRecord:
    line: int
    entry: Entry


def import_batch(workspace: str, records: list[ImportRecord], validate_only: bool, store: Suppressions,
                 clock: Clock, new_id: NewId, summary: ImportSummary) -> None:
    """Adds or refreshes a batch with one read and bulk writes (chunks of at most
    90): a key that already has an entry gets the record's reason, note and
    expiry and counts as updated. A bad record is rejected with its line and
    reason and never stops the others; a key given twice takes the last one."""
    now = clock()
    latest: dict[tuple, tuple[int, Entry]] = {}
    for record in records:
        try:
            entry = validated(record.entry, now)
        except InvalidArgument as error:
            first = error.violations[0]
            summary.reject(record.line, record.entry.subject, first.field.removeprefix("suppression."),
                           first.description)
            continue
        latest[entry.key] = (record.line, entry)
    if validate_only or not latest:
        return
    stored = store.find_many(workspace, latest)
    fresh = [entry for key, (_, entry) in latest.items() if key not in stored]
    # Ids made in the same millisecond are not ordered among themselves: sorted,
    # they keep the source's order, which lists and exports follow.
    fresh_ids = iter(sorted(new_id() for _ in fresh))
    added = [_new(workspace, entry, lambda: next(fresh_ids), now) for entry in fresh]
    replaced = [(refreshed(stored[key], entry, now), stored[key].version)
                for key, (_, entry) in latest.items() if key in stored]
    conflicts = store.save_many(added, replaced)
    existed = set(stored)
    for key in conflicts:  # another writer came first: apply this record again, on its own
        line, entry = latest[key]
        try:
            if _apply_alone(workspace, entry, store, clock, new_id):
                existed.add(key)
        except (Aborted, AlreadyExists) as error:
            summary.reject(line, entry.subject, "", f"changed by another request during the import: {error}")
            latest.pop(key)
    for key in latest:
        if key in existed:
            summary.updated += 1
        else:
            summary.inserted += 1


def _apply_alone(workspace: str, entry: Entry, store: Suppressions, clock: Clock, new_id: NewId) -> bool:
    """Adds or refreshes one entry; True when it refreshed an existing one."""
    now = clock()
    current = store.find(workspace, entry.key)
    if current is None:
        _insert(workspace, entry, store, now, new_id)
        return False
    store.save(refreshed(current, entry, now), current.version)
    return True


# -- unsubscribe links -------------------------------------------------------------------------------------


def unsubscribe(workspace: str, claims: LinkClaims, store: Suppressions, clock: Clock,
                new_id: NewId, announce: Callable[[LinkClaims, datetime], None] | None = None) -> Suppression:
    """What a verified unsubscribe link asks: the token's profile suppressed on its
    channel (UNSUBSCRIBED, source `unsubscribe-link`). Idempotent: when the
    profile already has a live entry on that channel, that entry is the answer.
    Every use of the link is announced (`profile_unsubscribed`), so the campaign
    whose link it was counts the unsubscribe even when an entry existed already."""
    if claims.workspace != workspace:
        raise InvalidArgument(FieldViolation("token", f"was issued for another workspace than {workspace!r}"))
    now = clock()
    entry = validated(Entry("profile", claims.profile, claims.channel, Reason.UNSUBSCRIBED, "",
                            UNSUBSCRIBE_SOURCE, claims.campaign), now, prefix="token.")
    existing = store.find(workspace, entry.key)
    if existing is not None and existing.active(now):
        result = existing
    else:
        try:
            result = _insert(workspace, entry, store, now, new_id)
        except AlreadyExists:  # a second click raced the first one
            result = store.find(workspace, entry.key)
            if result is None:
                raise
    if announce is not None:
        announce(claims, now)
    return result

