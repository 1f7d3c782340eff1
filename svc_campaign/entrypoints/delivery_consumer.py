"""Keeps the tally of the campaigns' messages and spend from notify's delivery
events (marketing.notify.v1), each applied once (the inbox) in its own
transaction with the tally's change."""

from __future__ import annotations

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.events.inbox import InboxConsumer

from svc_campaign.adapters import delivery_tally
from svc_campaign.adapters.tables import campaign_inbox

NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"
NOTIFY_SCHEMA = event_schemas.load("notify.v1")
SUBSCRIPTION = "svc_campaign-delivery-tally"


def delivery_consumer(bus: Bus, engine: Engine) -> InboxConsumer:
    return InboxConsumer(bus, engine, campaign_inbox, NOTIFY_TOPIC, SUBSCRIPTION, NOTIFY_SCHEMA,
                         lambda connection, event, message: delivery_tally.apply_event(connection, event))
