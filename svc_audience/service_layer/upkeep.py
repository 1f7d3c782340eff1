"""Segment upkeep: keeps the stored memberships equal to what each segment's
query selects, and announces every difference as `segment_updated`.

Two paths. Incremental: every profile write marks the profile stale in the
same atomic write; a pass takes a batch of stale profiles, asks each segment
of their workspace which of them it selects now (one query per segment,
narrowed to the batch), diffs that against the stored memberships, and clears
the marks of profiles not written again meanwhile. Full: a new or changed
definition, or a time window that moves on ("in the last 7 days"), asks for a
recomputation that streams the segment's query and the stored memberships in
profile order side by side.

Each difference goes to the outbox before the memberships change, so a pass
cut short can repeat an event but never lose one; applying `segment_updated`
twice changes nothing for a consumer."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from svc_kit.events.entry import OutboxEntry

from svc_audience.domain.segments import Segment, parse_definition
from svc_audience.service_layer import segment_events as events
from svc_audience.service_layer.ports import Memberships, Segments, StaleProfiles
from svc_audience.service_layer.segments import segment_filter

log = logging.getLogger("svc_audience.upkeep")
Clock = Callable[[], datetime]
Publish = Callable[[Sequence[OutboxEntry]], None]
STALE_BATCH = 500
DIFF_FLUSH = 5000
MOVING_WINDOWS = ("within_last_days", "within_next_days")


def is_time_dependent(definition: str) -> bool:
    """Whether membership can change with the clock alone (a moving window)."""
    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("op") in MOVING_WINDOWS or "within_days" in node or any(
                walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False
    try:
        return walk(parse_definition(definition))
    except Exception:  # noqa: BLE001 - an unreadable definition has no window
        return False


@dataclass
class PassReport:
    profiles: int = 0
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # segment -> (added, removed)


class SegmentUpkeep:
    def __init__(self, profiles: StaleProfiles, segments: Segments, memberships: Memberships,
                 publish: Publish, clock: Clock):
        self.profiles = profiles
        self.segments = segments
        self.memberships = memberships
        self.publish = publish
        self.clock = clock

    # -- incremental -------------------------------------------------------------------------------------

    def run_stale(self, limit: int = STALE_BATCH) -> PassReport:
        marks = self.profiles.stale(limit)
        report = PassReport(len(marks))
        by_workspace: dict[str, list[str]] = defaultdict(list)
        for workspace, external_id, _ in marks:
            by_workspace[workspace].append(external_id)
        for workspace, external_ids in by_workspace.items():
            self._follow(workspace, external_ids, report)
        if marks:
            self.profiles.clear_stale(marks)
        return report

    def _follow(self, workspace: str, external_ids: list[str], report: PassReport) -> None:
        now = self.clock()
        segments = {s.segment_id: s for s in self.segments.all_in(workspace)}
        before = self.memberships.among(workspace, external_ids, list(segments))
        diffs = []
        for segment_id, segment in segments.items():
            selected = self.segments.which(segment_filter(segment, now), external_ids, workspace)
            was = before.get(segment_id, set())
            added, removed = sorted(selected - was), sorted(was - selected)
            if added or removed:
                diffs.append((segment_id, added, removed))
        entries = [e for segment_id, added, removed in diffs
                   for e in events.segment_updated_entries(workspace, segment_id, added, removed,
                                                           "profiles_changed", now)]
        if entries:
            self.publish(entries)
        for segment_id, added, removed in diffs:
            self.memberships.add(workspace, segment_id, added)
            self.memberships.remove(workspace, segment_id, removed)
            report.changes[segment_id] = (len(added), len(removed))

    # -- full recomputation ------------------------------------------------------------------------------

    def request(self, workspace: str, segment_id: str) -> None:
        self.memberships.request_recompute(workspace, segment_id, int(self.clock().timestamp() * 1_000_000))

    def request_time_dependent(self) -> int:
        """Asks for a recomputation of every segment whose window moves with the clock."""
        due = [s for s in self.segments.everywhere()
               if (s.kind != "static" and is_time_dependent(s.definition))  # a static segment has no rule
               or (s.excluded_rule and is_time_dependent(s.excluded_rule))]
        for segment in due:
            self.request(segment.workspace, segment.segment_id)
        return len(due)

    def run_requests(self, limit: int = 10) -> PassReport:
        report = PassReport()
        for workspace, segment_id, stamp in self.memberships.recompute_requests(limit):
            segment = self.segments.get(workspace, segment_id)
            if segment is None:  # deleted meanwhile; its memberships went with it
                self.memberships.recomputed(workspace, segment_id, stamp)
                continue
            report.changes[segment_id] = self.recompute(segment)
            self.memberships.recomputed(workspace, segment_id, stamp)
        return report

    def recompute(self, segment: Segment) -> tuple[int, int]:
        """Brings one segment's memberships up to date with a merge of two
        sorted streams; returns how many profiles entered and left."""
        now = self.clock()
        selected = self.segments.stream(segment_filter(segment, now), "", False, 5000)
        stored = self.memberships.members(segment.workspace, segment.segment_id)
        added: list[str] = []
        removed: list[str] = []
        totals = [0, 0]

        def flush() -> None:
            if added or removed:
                self.publish(events.segment_updated_entries(segment.workspace, segment.segment_id, added, removed,
                                                            "recomputed", now))
                self.memberships.add(segment.workspace, segment.segment_id, added)
                self.memberships.remove(segment.workspace, segment.segment_id, removed)
                totals[0] += len(added)
                totals[1] += len(removed)
                added.clear()
                removed.clear()

        for side, external_id in _merge(selected, stored):
            (added if side == "new" else removed).append(external_id)
            if len(added) + len(removed) >= DIFF_FLUSH:
                flush()
        flush()
        return totals[0], totals[1]

    # -- erasure and deletion ----------------------------------------------------------------------------

    def forget_profile(self, workspace: str, external_id: str) -> int:
        """An erased profile leaves every segment it was in (idempotent)."""
        now = self.clock()
        every = [s.segment_id for s in self.segments.all_in(workspace)]
        segment_ids = sorted(self.memberships.among(workspace, [external_id], every))
        entries = [e for s in segment_ids
                   for e in events.segment_updated_entries(workspace, s, [], [external_id], "profile_erased", now)]
        if entries:
            self.publish(entries)
        for segment_id in segment_ids:
            self.memberships.remove(workspace, segment_id, [external_id])
        return len(segment_ids)

    def segment_deleted(self, workspace: str, segment_id: str) -> None:
        self.publish([events.segment_deleted_entry(workspace, segment_id, self.clock())])
        self.memberships.drop_segment(workspace, segment_id)


def _merge(selected: Iterator[str], stored: Iterator[str]) -> Iterator[tuple[str, str]]:
    """("new", id) for ids only in `selected`, ("gone", id) for ids only in
    `stored`; both inputs ascending."""
    a, b = next(selected, None), next(stored, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a < b):
            yield "new", a
            a = next(selected, None)
        elif a is None or b < a:
            yield "gone", b
            b = next(stored, None)
        else:
            a, b = next(selected, None), next(stored, None)
