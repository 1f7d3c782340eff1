"""Fills syncs' pending change sets from the audience service's `segment_updated` events
(topic marketing.audience.segments.v1), each event applied once: the inbox records its id in the
same transaction as the changes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.events.inbox import InboxConsumer

from svc_integrations.adapters.connection_store import record_segment_changes
from svc_integrations.adapters.tables import integrations_inbox
from svc_integrations.domain.syncs import changes_from_event

SEGMENT_TOPIC = "persistent://public/default/marketing.audience.segments.v1"
SEGMENT_SCHEMA = event_schemas.load("segment.v1")
SUBSCRIPTION = "svc_integrations-sync-changes"


def sync_change_consumer(bus: Bus, engine: Engine, recorded: Callable[[], None] = lambda: None) -> InboxConsumer:
    def apply(connection, event, message) -> None:
        if event["event_type"] != "segment_updated":
            return
        payload = event["payload"]
        changes = changes_from_event(list(payload["added"]), list(payload["removed"]))
        if record_segment_changes(connection, event["workspace"], event["aggregate_id"], changes):
            recorded()

    return InboxConsumer(bus, engine, integrations_inbox, SEGMENT_TOPIC, SUBSCRIPTION, SEGMENT_SCHEMA, apply)
