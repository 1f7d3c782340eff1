"""The `segment_updated` / `segment_deleted` events (event_schemas/segment.v1.avsc)
segment upkeep hands to the outbox, as entries for its publish function."""

from __future__ import annotations

from datetime import datetime

from svc_kit.events.entry import OutboxEntry
from svc_kit.ids import new_id
from svc_kit.trace_context import current_trace_headers

PRODUCER = "svc_audience"
SEGMENT_TOPIC = "persistent://public/default/marketing.audience.segments.v1"
SEGMENT_UPDATED = "segment_updated"
SEGMENT_DELETED = "segment_deleted"
MEMBERS_PER_EVENT = 1000


def _segment_entry(workspace: str, segment_id: str, event_type: str, payload: tuple[str, dict],
                   now: datetime) -> OutboxEntry:
    trace = current_trace_headers()
    name = f"workspaces/{workspace}/segments/{segment_id}"
    record = {
        "event_id": new_id(), "event_type": event_type, "workspace": workspace, "aggregate_id": segment_id,
        "aggregate_version": int(now.timestamp() * 1_000_000), "occurred_at": now, "producer": PRODUCER,
        "traceparent": trace.get("traceparent"), "tracestate": trace.get("tracestate"), "payload": payload,
    }
    return OutboxEntry(record["event_id"], SEGMENT_TOPIC, name, record,
                       {**trace, "event_type": event_type, "workspace": workspace})


def segment_updated_entries(workspace: str, segment_id: str, added: list[str], removed: list[str], reason: str,
                            now: datetime) -> list[OutboxEntry]:
    """`segment_updated` events of at most MEMBERS_PER_EVENT profiles each."""
    name = f"workspaces/{workspace}/segments/{segment_id}"
    entries = []
    for start in range(0, max(len(added), len(removed)), MEMBERS_PER_EVENT):
        payload = {"segment": name, "added": added[start:start + MEMBERS_PER_EVENT],
                   "removed": removed[start:start + MEMBERS_PER_EVENT], "reason": reason}
        entries.append(_segment_entry(workspace, segment_id, SEGMENT_UPDATED,
                                      ("marketing.audience.v1.SegmentUpdated", payload), now))
    return entries


def segment_deleted_entry(workspace: str, segment_id: str, now: datetime) -> OutboxEntry:
    return _segment_entry(workspace, segment_id, SEGMENT_DELETED, (
        "marketing.audience.v1.SegmentDeleted", {"segment": f"workspaces/{workspace}/segments/{segment_id}"}), now)
