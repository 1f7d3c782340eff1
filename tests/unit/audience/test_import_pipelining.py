"""ImportProfiles stores a batch while it reads the next ones (two batches in
flight at most); a profile named again in a later batch still ends up as the
later lines say, and the summary counts every batch once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2

from svc_audience.entrypoints.common import Dependencies
from svc_audience.entrypoints.profile_rpcs import IMPORT_BATCH, ProfileRpcs
from tests.fakes_audience import FakeProfileRepository

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class SlowRepository(FakeProfileRepository):
    """Writes take a while (the first one of u-1000 longest, so that a later
    batch let through beside it would land first) and are watched."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.writes: list[set[str]] = []
        self.slowed = False

    def save_many(self, changes):
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        with self.lock:
            slow = any(p.external_id == "u-1000" for p, _ in changes) and not self.slowed
            self.slowed |= slow
        time.sleep(0.3 if slow else 0.05)
        try:
            return super().save_many(changes)
        finally:
            with self.lock:
                self.running -= 1
                self.writes.append({p.external_id for p, _ in changes})

    def get_many(self, workspace, external_ids):
        with self.lock:
            return super().get_many(workspace, external_ids)


def record(line: int, external_id: str, n: int) -> pb.ProfileRecord:
    return pb.ProfileRecord(line=line, profile_id=external_id, profile=profile_pb2.Profile(
        attributes=[attribute_pb2.Attribute(key="n", int_value=n)]))


async def test_batches_overlap_but_a_profile_named_again_keeps_the_later_lines():
    repo = SlowRepository()
    rpcs = ProfileRpcs(Dependencies(repo, None, None, None, lambda: T0, lambda: "id", ThreadPoolExecutor(4),
                                    lambda profile: None))
    # Batches: u-0..u-999, u-1000..u-1999, u-1000..u-1999 again (n + 1: must wait for the batch before it,
    # though a place is free beside the first), u-3000..u-3499.
    lines = [(f"u-{i}", i) for i in range(2 * IMPORT_BATCH)] \
        + [(f"u-{i}", i + 1) for i in range(IMPORT_BATCH, 2 * IMPORT_BATCH)] \
        + [(f"u-{i}", i) for i in range(3 * IMPORT_BATCH, 3 * IMPORT_BATCH + IMPORT_BATCH // 2)]

    async def requests():
        for start in range(0, len(lines), 500):
            message = pb.ImportProfilesRequest(records=[record(start + k + 1, external_id, n) for k, (external_id, n)
                                                        in enumerate(lines[start:start + 500])])
            if start == 0:
                message.parent = "workspaces/acme"
            yield message

    summary = await rpcs.ImportProfiles(requests(), None)
    assert (summary.received, summary.inserted, summary.updated, summary.rejected) == (
        len(lines), 2 * IMPORT_BATCH + IMPORT_BATCH // 2, IMPORT_BATCH, 0)
    assert repo.most_at_once == 2  # batches were stored side by side ...
    assert sum("u-1000" in ids for ids in repo.writes) == 2  # ... the repeated profiles twice, in line order:
    assert repo.get("acme", "u-1000").attributes["n"] == 1001 and repo.get("acme", "u-1999").attributes["n"] == 2000
    assert repo.get("acme", "u-1999").version == 2 and repo.get("acme", "u-0").version == 1
    assert repo.get("acme", "u-3499").attributes["n"] == 3499
