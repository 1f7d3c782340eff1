"""Turns the audience service's `segment_updated` events (topic marketing.audience.segments.v1)
into change marks on the segment's syncs: a trigger only (a scheduled incremental run without a
mark is skipped); what a run sends comes from diffing the live membership, never from the events.
Each event applied once: the inbox records its id in the same transaction as the mark."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.events.inbox import InboxConsumer

from svc_integrations.adapters.connection_store import mark_segment_changed
from svc_integrations.adapters.tables import integrations_inbox

SEGMENT_TOPIC = "persistent://public/default/marketing.audience.segments.v1"
SEGMENT_SCHEMA = event_schemas.load("segment.v1")
SUBSCRIPTION = "svc_integrations-sync-changes"


def sync_change_consumer(bus: Bus, engine: Engine, recorded: Callable[[], None] = lambda: None) -> InboxConsumer:
    def apply(connection, event, message) -> None:
        if event["event_type"] != "segment_updated":
            return
        payload = event["payload"]
        if not payload["added"] and not payload["removed"]:
            return
        if mark_segment_changed(connection, event["workspace"], event["aggregate_id"]):
            recorded()

    return InboxConsumer(bus, engine, integrations_inbox, SEGMENT_TOPIC, SUBSCRIPTION, SEGMENT_SCHEMA, apply)
