"""The audience service's events and their outbox in its database:
`profile_erased` (event_schemas/audience.v1.avsc) and `segment_updated` /
`segment_deleted` (segment.v1.avsc, the entries built by
svc_audience.service_layer.segment_events); and the tracked behaviour it consumes
(behaviour.v1.avsc)."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

import event_schemas
from svc_kit.events.mongo_outbox import MongoOutbox
from svc_kit.events.entry import OutboxEntry
from svc_kit.ids import new_id
from svc_kit.trace_context import current_trace_headers

from svc_audience.domain.model import Profile
from svc_audience.service_layer.segment_events import PRODUCER, SEGMENT_TOPIC

TOPIC = "persistent://public/default/marketing.audience.v1"
SCHEMA = event_schemas.load("audience.v1")
ERASED = "profile_erased"
OUTBOX_COLLECTION = "outbox"
SEGMENT_SCHEMA = event_schemas.load("segment.v1")
BEHAVIOUR_TOPIC = "persistent://public/default/marketing.behaviour.v1"
BEHAVIOUR_SCHEMA = event_schemas.load("behaviour.v1")
EVENT_TRACKED = "event_tracked"


def outbox(database: Database) -> MongoOutbox:
    return MongoOutbox(database[OUTBOX_COLLECTION], {TOPIC: SCHEMA, SEGMENT_TOPIC: SEGMENT_SCHEMA})


def erasure_entry(profile: Profile, now: datetime) -> OutboxEntry:
    trace = current_trace_headers()
    name = f"workspaces/{profile.workspace}/profiles/{profile.external_id}"
    record = {
        "event_id": new_id(), "event_type": ERASED, "workspace": profile.workspace,
        "aggregate_id": profile.external_id, "aggregate_version": profile.version, "occurred_at": now,
        "producer": PRODUCER, "traceparent": trace.get("traceparent"), "tracestate": trace.get("tracestate"),
        "payload": ("marketing.audience.v1.ProfileErased", {"profile": name}),
    }
    return OutboxEntry(record["event_id"], TOPIC, profile.external_id, record,
                       {**trace, "event_type": ERASED, "workspace": profile.workspace})
