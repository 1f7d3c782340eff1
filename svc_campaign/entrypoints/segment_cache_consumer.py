"""Keeps the local copy of audience segments' membership from the audience
service's segment events, each applied once (the inbox) in its own
transaction with the copy's change."""

from __future__ import annotations

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.events.inbox import InboxConsumer

from svc_campaign.adapters import segment_cache
from svc_campaign.adapters.tables import campaign_inbox

SEGMENT_TOPIC = "persistent://public/default/marketing.audience.segments.v1"
SEGMENT_SCHEMA = event_schemas.load("segment.v1")
SUBSCRIPTION = "svc_campaign-segment-cache"


def segment_cache_consumer(bus: Bus, engine: Engine) -> InboxConsumer:
    return InboxConsumer(bus, engine, campaign_inbox, SEGMENT_TOPIC, SUBSCRIPTION, SEGMENT_SCHEMA,
                         lambda connection, event, message: segment_cache.apply_event(connection, event))

