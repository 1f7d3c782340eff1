"""What every part of the audience gRPC layer shares: the dependencies, the
executor hop for blocking database work, and resource-name parsing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.executor import run_blocking
from svc_kit.signing import Keyring
from svc_kit.names import parent_field
from svc_kit.proto_enums import channel_from_proto, channel_proto_names

from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.adapters.snapshot_store import SnapshotStore
from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.model import Profile
from svc_audience.service_layer import profiles as handlers
from svc_audience.service_layer.ports import ProfileRepository

T = TypeVar("T")


@dataclass
class Dependencies:
    repository: ProfileRepository
    segments: SegmentStore
    suppressions: SuppressionStore
    snapshots: SnapshotStore
    clock: Callable[[], datetime]
    new_id: Callable[[], str]
    executor: Executor
    record_erasure: Callable[[Profile], str | None]  # records profile_erased; returns the erasure id
    # MKT_LINK_SIGNING_KEY: verifies unsubscribe links; None when unset (Unsubscribe then fails).
    link_signing_key: Keyring | None = None
    upkeep: Any = None  # service_layer.upkeep.SegmentUpkeep; None where memberships are not kept
    lookalikes: Any = None  # adapters.lookalike_store.LookalikeStore; None: lookalike RPCs answer UNIMPLEMENTED
    wake_lookalike_worker: Callable[[], None] | None = None
    # Announces an unsubscribe link's use (profile_unsubscribed through the outbox); None: not announced.
    record_unsubscribe: Callable[[Any, datetime], None] | None = None
    # Erasure requests (adapters.erasure_store.ErasureStore); None: the erasure request RPCs answer UNIMPLEMENTED.
    erasures: Any = None
    # Access requests: (service, async (workspace, profile) -> section) in the document's order.
    export_sections: Any = None


class Rpcs:
    """Base of the servicer's parts; each part adds the RPCs of one resource."""

    def __init__(self, deps: Dependencies):
        self.deps = deps
        self.repo = deps.repository
        self.segments = deps.segments
        self.suppressions = deps.suppressions
        self.snapshots = deps.snapshots
        self.clock = deps.clock
        self.new_id = deps.new_id
        self.executor = deps.executor

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.executor, fn, *args)


def profile_name(value: str, field: str = "name") -> tuple[str, str]:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "profiles":
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/profiles/{{id}}`"))
    workspace = parent_field(f"workspaces/{parts[1]}")
    handlers.check_external_id(parts[3], field)
    return workspace, parts[3]


def channel_of(value: int) -> Channel | None:
    if value == 0:
        return None
    channel = channel_from_proto(value)
    if channel is None:
        raise InvalidArgument(FieldViolation("channel", f"must be one of {channel_proto_names()}"))
    return channel


def take(iterator, count: int) -> list:
    return list(itertools.islice(iterator, count))
