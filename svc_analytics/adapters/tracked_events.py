"""TrackedEvents through the outbox: each new behaviour event IngestEvents stored is announced as
`event_tracked` (event_schemas/behaviour.v1.avsc, topic marketing.behaviour.v1, keyed by profile),
which audience's behaviour conditions count. Events without a profile concern nobody and are not
announced. The relay publishes the rows; a relay stopped between publish and mark sends again,
and consumers deduplicate on the envelope's event id."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from sqlalchemy import Engine

import event_schemas
from svc_kit.events.entry import OutboxEntry
from svc_kit.events.outbox import Outbox
from svc_kit.ids import new_id
from svc_kit.trace_context import current_trace_headers

from svc_analytics.adapters.tables import analytics_outbox
from svc_analytics.domain.model import StoredEvent

TOPIC = "persistent://public/default/marketing.behaviour.v1"
SCHEMA = event_schemas.load("behaviour.v1")
EVENT_TRACKED = "event_tracked"
PRODUCER = "svc_analytics"
OUTBOX = Outbox(analytics_outbox, {TOPIC: SCHEMA})


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def tracked_entry(event: StoredEvent) -> OutboxEntry:
    trace = current_trace_headers()
    record = {
        "event_id": new_id(), "event_type": EVENT_TRACKED, "workspace": event.workspace,
        "aggregate_id": event.profile, "aggregate_version": 0, "occurred_at": event.event_time,
        "producer": PRODUCER, "traceparent": trace.get("traceparent"), "tracestate": trace.get("tracestate"),
        "payload": ("marketing.behaviour.v1.EventTracked", {
            "profile": f"workspaces/{event.workspace}/profiles/{event.profile}", "name": event.type,
            "properties": {str(k): _text(v) for k, v in event.properties.items()}}),
    }
    return OutboxEntry(record["event_id"], TOPIC, event.profile, record,
                       {**trace, "event_type": EVENT_TRACKED, "workspace": event.workspace,
                        "source_event_id": event.event_id})


class OutboxTrackedEvents:
    """service_layer.ports.TrackedEvents: writes the entries, then wakes the relay."""

    def __init__(self, engine: Engine, wake: threading.Event | None = None):
        self.engine = engine
        self.wake = wake

    def publish(self, events: Sequence[StoredEvent]) -> None:
        entries = [tracked_entry(e) for e in events if e.profile]
        if not entries:
            return
        with self.engine.begin() as connection:
            OUTBOX.write(connection, entries)
        if self.wake is not None:
            self.wake.set()
