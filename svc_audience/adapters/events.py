"""Profile events: the `profile_erased` envelope (event_schemas/audience.v1.avsc)
and its outbox in the audience database."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

import event_schemas
from svc_kit.events.mongo_outbox import MongoOutbox
from svc_kit.events.outbox import OutboxEntry
from svc_kit.ids import new_id
from svc_kit.tracing import current_trace_headers

from svc_audience.domain.model import Profile

TOPIC = "persistent://public/default/marketing.audience.v1"
SCHEMA = event_schemas.load("audience.v1")
PRODUCER = "svc_audience"
ERASED = "profile_erased"
OUTBOX_COLLECTION = "outbox"


def outbox(database: Database) -> MongoOutbox:
    return MongoOutbox(database[OUTBOX_COLLECTION], {TOPIC: SCHEMA})


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
