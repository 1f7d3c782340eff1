"""What the audience service's use cases need from outside, one Protocol each:
the stores of profiles, suppressions, segments, snapshots, lookalikes and segment
memberships (MongoDB, through svc_audience.adapters; wired in bootstrap and the
entrypoints), with the values they exchange. Unit tests give fakes."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from svc_kit.channels import Channel
from svc_kit.errors import Aborted

from svc_audience.domain.lookalike import Lookalike, Progress
from svc_audience.domain.model import Profile
from svc_audience.domain.segments import Segment
from svc_audience.domain.suppression import Condition, Suppression

Key = tuple[str, str, Channel | None]  # (subject kind, subject, channel) of a suppression


class ProfileRepository(Protocol):
    """Implementations subclass it to get the one-by-one get_many and save_many
    (MongoProfileRepository replaces them with bulk reads and writes)."""

    @abc.abstractmethod
    def get(self, workspace: str, external_id: str) -> Profile | None: ...

    @abc.abstractmethod
    def add(self, profile: Profile) -> None:
        """Stores a new profile; AlreadyExists if the external id is taken."""

    @abc.abstractmethod
    def save(self, profile: Profile, expected_version: int) -> None:
        """Writes a changed profile (created when expected_version is 0); Aborted
        if someone else changed it since."""

    @abc.abstractmethod
    def remove(self, workspace: str, external_id: str) -> bool: ...

    @abc.abstractmethod
    def list(self, workspace: str, after: str, limit: int) -> list[Profile]:
        """Profiles ordered by external id, strictly after `after`."""

    def get_many(self, workspace: str, external_ids: list[str]) -> dict[str, Profile]:
        found = {}
        for external_id in external_ids:
            if (profile := self.get(workspace, external_id)) is not None:
                found[external_id] = profile
        return found

    def save_many(self, changes: list[tuple[Profile, int]]) -> set[str]:
        """Saves each (profile, expected_version); returns the external ids that
        conflicted with another writer (the others are stored)."""
        conflicts = set()
        for profile, expected in changes:
            try:
                self.save(profile, expected)
            except Aborted:
                conflicts.add(profile.external_id)
        return conflicts


class StaleProfiles(Protocol):
    """Profiles whose segment memberships are not yet brought up to date."""

    def stale(self, limit: int) -> list[tuple[str, str, int]]:
        """(workspace, external id, version) of profiles whose memberships may lag."""

    def clear_stale(self, marks: list[tuple[str, str, int]]) -> None:
        """Clears the marks of profiles still at the version the pass read; a
        profile written since keeps its mark for the next pass."""


@dataclass(frozen=True)
class Snapshot:
    workspace: str
    segment_id: str
    snapshot_id: str
    channel: str  # a Channel value, or "" for every member
    campaign: str
    definition: str
    size: int
    create_time: datetime


class Suppressions(Protocol):
    def add(self, suppression: Suppression) -> None:
        """Stores a new entry; AlreadyExists naming the entry the subject already has on that channel."""

    def get(self, workspace: str, suppression_id: str) -> Suppression | None: ...

    def find(self, workspace: str, key: Key) -> Suppression | None:
        """The entry of a (subject kind, subject, channel), if any."""

    def save(self, suppression: Suppression, expected_version: int) -> None:
        """Replaces an entry; Aborted if someone else changed (or removed) it since it was read."""

    def remove(self, workspace: str, suppression_id: str, version: int | None = None) -> bool: ...

    def find_many(self, workspace: str, keys: Iterable[Key]) -> dict[Key, Suppression]:
        """The entries of these keys, in one query (by subject, then narrowed here)."""

    def save_many(self, added: list[Suppression], replaced: list[tuple[Suppression, int]]) -> set[Key]:
        """Inserts `added` and replaces each (entry, expected version) of `replaced`,
        in bulk writes of at most BULK_CHUNK operations; returns the keys that
        met another writer (an insert that found the key taken, a replace that
        found another version). The others are stored."""

    def list(self, workspace: str, conditions: tuple[Condition, ...], before: str, limit: int) -> list[Suppression]:
        """Entries meeting the conditions, newest first (ids are time-ordered), strictly before `before`."""

    def stream(self, workspace: str, conditions: tuple[Condition, ...], batch: int) -> Iterator[Suppression]:
        """Every entry meeting the conditions, oldest first, read in batches from one cursor."""

    def naming(self, workspace: str, channel: Channel, external_ids: Iterable[str], emails: Iterable[str],
               phones: Iterable[str]) -> list[Suppression]:
        """Entries on `channel` or every channel naming any of these profiles or
        addresses, in one query (expired ones included; the caller decides)."""

    def exclusion(self, workspace: str, channel: Channel, now: datetime) -> dict[str, Any]:
        """The condition a profile must meet not to be suppressed on `channel` now."""


class Segments(Protocol):
    def add(self, segment: Segment) -> None: ...

    def get(self, workspace: str, segment_id: str) -> Segment | None: ...

    def list(self, workspace: str, after: str, limit: int) -> list[Segment]: ...

    def replace(self, segment: Segment, expected_version: int) -> None:
        """Writes a changed segment read at `expected_version`; Aborted if it moved meanwhile."""

    def remove(self, workspace: str, segment_id: str) -> bool: ...

    def lookalike_seeded_by(self, workspace: str, segment_id: str) -> Segment | None:
        """The segment of a lookalike whose seed is `segment_id`, if any."""

    @staticmethod
    def members_query(compiled: dict, channel: Channel | None, not_suppressed: dict | None = None) -> dict:
        """The segment's members, or those reachable on `channel` (address,
        consent, and not suppressed) when one is given."""

    def count(self, query: dict) -> int: ...

    def which(self, query: dict, external_ids: list[str], workspace: str | None = None) -> set[str]:
        """Those of `external_ids` the query selects; given the workspace, they
        are narrowed by document key (MongoDB and nx-27017 look keys up in their
        _id index; nx-27017 evaluates `external_id: {$in}` in Python, document
        by document)."""

    def stream(self, query: dict, after: str, full: bool, batch: int):
        """Members in external id order after `after`, read in batches from one cursor."""

    def members(self, query: dict, after: str, limit: int, full: bool): ...

    def all_in(self, workspace: str) -> list[Segment]: ...

    def everywhere(self) -> list[Segment]: ...


class Snapshots(Protocol):
    def create(self, snapshot: Snapshot, external_ids: Iterable[str]) -> Snapshot:
        """Stores the members in batches, then the snapshot itself with its size."""

    def get(self, workspace: str, segment_id: str, snapshot_id: str) -> Snapshot | None: ...

    def list(self, workspace: str, segment_id: str, after: str, limit: int) -> list[Snapshot]: ...

    def remove(self, workspace: str, segment_id: str, snapshot_id: str) -> bool: ...

    def member_ids(self, workspace: str, segment_id: str, snapshot_id: str, after: str, limit: int) -> list[str]: ...

    def forget(self, workspace: str, external_id: str) -> int:
        """Erasure: the profile leaves every snapshot."""


class Lookalikes(Protocol):
    def add(self, lookalike: Lookalike) -> None: ...

    def get(self, workspace: str, lookalike_id: str) -> Lookalike | None: ...

    def find_by_request_id(self, workspace: str, request_id: str) -> Lookalike | None: ...

    def list(self, workspace: str, after: str, limit: int) -> list[Lookalike]: ...

    def save(self, lookalike: Lookalike, expected_version: int) -> None:
        """Writes a changed lookalike; Aborted if someone else changed it since."""

    def remove(self, workspace: str, lookalike_id: str) -> bool: ...

    def claim_next(self, owner: str, now_ms: int, lease_ms: int) -> Lookalike | None:
        """A lookalike that is owed work and that no live worker holds, now held by `owner`."""

    def renew(self, workspace: str, lookalike_id: str, owner: str, now_ms: int, lease_ms: int,
              progress: Progress) -> int | None:
        """Extends the lease and reports progress; the lookalike's current
        generation, or None when it is gone or another worker holds it."""

    def release(self, workspace: str, lookalike_id: str, owner: str) -> None: ...

    def count_profiles(self, workspace: str) -> int: ...

    def profile_batches(self, workspace: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """The workspace's profile documents (what features need, and `_id`), from one cursor."""

    def score_batches(self, workspace: str, lookalike_id: str, size: int) -> Iterator[list[tuple[str, float]]]:
        """(external id, score) of the workspace's scored profiles."""

    def write_scores(self, workspace: str, lookalike_id: str, scores: list[tuple[Any, float]]) -> None:
        """Sets `scores.<lookalike id>` on each (profile _id, score), in chunks."""

    def remove_scores(self, workspace: str, lookalike_id: str) -> None: ...

    def set_cut(self, workspace: str, segment_id: str, threshold: float | None, excluded_rule: str) -> None:
        """Who the lookalike's segment holds: scores from `threshold` up, minus the excluded rule's profiles."""

    def rename_segment(self, workspace: str, segment_id: str, display_name: str, description: str) -> None: ...


class Memberships(Protocol):
    def among(self, workspace: str, external_ids: list[str], segment_ids: list[str]) -> dict[str, set[str]]:
        """Segment id -> those of `external_ids` that are members, looked up by
        document key (nx-27017 evaluates `$in` on other fields document by
        document; on `_id` it uses its index)."""

    def members(self, workspace: str, segment_id: str) -> Iterator[str]: ...

    def count(self, workspace: str, segment_id: str) -> int: ...

    def add(self, workspace: str, segment_id: str, external_ids: Iterable[str]) -> None: ...

    def remove(self, workspace: str, segment_id: str, external_ids: Iterable[str]) -> None: ...

    def drop_segment(self, workspace: str, segment_id: str) -> None: ...

    def request_recompute(self, workspace: str, segment_id: str, stamp: int) -> None: ...

    def recompute_requests(self, limit: int) -> list[tuple[str, str, int]]: ...

    def recomputed(self, workspace: str, segment_id: str, stamp: int) -> None:
        """Clears the request, unless a newer one came in meanwhile."""

