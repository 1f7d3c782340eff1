"""Tracked behaviour use case: count events on their profiles, a batch at a
time (one read, one bulk write), creating a profile the service has not
seen yet. Idempotent: a profile remembers the ids of its latest events."""

from __future__ import annotations

from collections import defaultdict

from svc_kit.errors import Aborted

from svc_audience.domain.behaviour import TrackedEvent, recorded
from svc_audience.domain.model import Profile
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.ports import ProfileRepository

ATTEMPTS = 5


def record_events(batch: list[TrackedEvent], repo: ProfileRepository, clock: Clock) -> int:
    """Applies the events; returns how many changed a profile (duplicates do not)."""
    pending: dict[tuple[str, str], list[TrackedEvent]] = defaultdict(list)
    for event in batch:
        pending[(event.workspace, event.external_id)].append(event)
    applied = 0
    for _ in range(ATTEMPTS):
        if not pending:
            return applied
        by_workspace: dict[str, list[str]] = defaultdict(list)
        for workspace, external_id in pending:
            by_workspace[workspace].append(external_id)
        retry: dict[tuple[str, str], list[TrackedEvent]] = {}
        for workspace, external_ids in by_workspace.items():
            stored = repo.get_many(workspace, external_ids)
            changes: list[tuple[Profile, int]] = []
            counted: dict[str, int] = {}
            now = clock()
            for external_id in external_ids:
                base = stored.get(external_id)
                profile = base or Profile(workspace, external_id)
                count = 0
                for event in pending[(workspace, external_id)]:
                    if (changed := recorded(profile, event, now)) is not None:
                        profile, count = changed, count + 1
                if count:
                    changes.append((profile, base.version if base else 0))
                    counted[external_id] = count
            conflicts = repo.save_many(changes)
            for external_id in conflicts:  # written by someone else meanwhile: read again and redo
                retry[(workspace, external_id)] = pending[(workspace, external_id)]
            applied += sum(n for i, n in counted.items() if i not in conflicts)
        pending = retry
    raise Aborted(f"{len(pending)} profiles kept changing while their events were counted; they will be retried")
