"""IngestEvents: each event validated on its own, the valid ones written
through the batching writer (synchronously: the call reports how many were
new and how many duplicates), the invalid ones reported.

A call in which no event is valid answers InvalidArgument with a violation
per event (`events[3].event_time`), so a caller sending one bad event gets an
error rather than a success that stored nothing; otherwise the refused events
are listed in the result next to the accepted count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from svc_kit.errors import InvalidArgument

from svc_analytics.domain.ingest import DEFAULT_RETENTION, DraftEvent, RejectedEvent, check_events
from svc_analytics.service_layer.writer import EventWriter

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # events stored by this call (with validate_only: that it would store)
    duplicates: int  # events whose id was stored before
    rejected: list[RejectedEvent]


def ingest_events(workspace: str, drafts: list[DraftEvent], writer: EventWriter, clock: Clock,
                  retention: timedelta = DEFAULT_RETENTION, validate_only: bool = False) -> IngestResult:
    checked = check_events(workspace, drafts, clock(), retention)
    if not checked.accepted:
        raise InvalidArgument([r.violation for r in checked.rejected])
    if validate_only:
        outcome = writer.preview(checked.accepted)
    else:
        outcome = writer.write(checked.accepted, tracked=True)
    return IngestResult(outcome.new, outcome.duplicates, checked.rejected)
