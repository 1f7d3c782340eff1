"""The audience service's events and their outbox in its database:
`profile_erased` (event_schemas/audience.v1.avsc) and `segment_updated` /
`segment_deleted` (segment.v1.avsc, the entries built by
svc_audience.service_layer.segment_events); and the tracked behaviour it consumes
(behaviour.v1.avsc)."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

import event_schemas
from svc_kit.events import erasure
from svc_kit.events.mongo_outbox import MongoOutbox
from svc_kit.events.entry import OutboxEntry
from svc_kit.ids import new_id
from svc_kit.signing import LinkClaims
from svc_kit.trace_context import current_trace_headers

from svc_audience.domain.model import Profile
from svc_audience.service_layer.segment_events import PRODUCER, SEGMENT_TOPIC

TOPIC = "persistent://public/default/marketing.audience.v1"
SCHEMA = event_schemas.load("audience.v1")
ERASED = "profile_erased"
UNSUBSCRIBED = "profile_unsubscribed"
OUTBOX_COLLECTION = "outbox"
SEGMENT_SCHEMA = event_schemas.load("segment.v1")
BEHAVIOUR_TOPIC = "persistent://public/default/marketing.behaviour.v1"
BEHAVIOUR_SCHEMA = event_schemas.load("behaviour.v1")
EVENT_TRACKED = "event_tracked"


def outbox(database: Database) -> MongoOutbox:
    return MongoOutbox(database[OUTBOX_COLLECTION], {TOPIC: SCHEMA, SEGMENT_TOPIC: SEGMENT_SCHEMA,
                                                      **erasure.SCHEMAS})  # + erasure confirmations


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


def unsubscribe_entry(claims: LinkClaims, now: datetime) -> OutboxEntry:
    """profile_unsubscribed: the profile used an unsubscribe link (of a campaign's message, when `campaign` is set).
    It travels as a ProfileErased record with channel and campaign set (see the schema's doc)."""
    trace = current_trace_headers()
    workspace = claims.workspace
    record = {
        "event_id": new_id(), "event_type": UNSUBSCRIBED, "workspace": workspace,
        "aggregate_id": claims.profile, "aggregate_version": 0, "occurred_at": now,
        "producer": PRODUCER, "traceparent": trace.get("traceparent"), "tracestate": trace.get("tracestate"),
        "payload": ("marketing.audience.v1.ProfileErased", {
            "profile": f"workspaces/{workspace}/profiles/{claims.profile}",
            "channel": claims.channel.value if claims.channel is not None else "",
            "campaign": f"workspaces/{workspace}/campaigns/{claims.campaign}" if claims.campaign else ""}),
    }
    return OutboxEntry(record["event_id"], TOPIC, claims.profile, record,
                       {**trace, "event_type": UNSUBSCRIBED, "workspace": workspace})
