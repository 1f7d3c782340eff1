"""Turns platform events from the bus into webhook deliveries: one consumer per topic, each through
the inbox (an event redelivered by the bus adds nothing; the (webhook, event) pair is unique too).
A PENDING delivery is made for every ACTIVE or PAUSED webhook of the workspace whose event types
match; a FAILING webhook's is dead-lettered at once (replayable after ResumeWebhook)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.events.inbox import InboxConsumer

from svc_integrations.adapters.tables import integrations_inbox
from svc_integrations.adapters.webhook_store import insert_deliveries, subscribed_webhooks
from svc_integrations.domain import webhooks as domain

# (topic, schema family) of the events webhooks carry.
TOPICS = (
    ("persistent://public/default/marketing.campaign.v1", "campaign.v1"),
    ("persistent://public/default/marketing.notify.v1", "notify.v1"),
    ("persistent://public/default/marketing.audience.v1", "audience.v1"),
    ("persistent://public/default/marketing.audience.segments.v1", "segment.v1"),
)
SUBSCRIPTION = "svc_integrations-webhooks-{family}"


def deliveries_for(event: domain.PlatformEvent, hooks, new_id: Callable[[], str], now) -> list[domain.Delivery]:
    body = domain.payload(event.type, event.time, event.data)
    result = []
    for hook_id, patterns, state in hooks:
        if not any(domain.matches(p, event.type) for p in patterns):
            continue
        failing = state == domain.FAILING
        result.append(domain.Delivery(
            workspace=event.workspace, webhook_id=hook_id, id=new_id(), event_id=event.event_id,
            event_type=event.type, body=body, state=domain.FAILED if failing else domain.PENDING,
            error="dead-lettered: the webhook is FAILING; replay after ResumeWebhook" if failing else "",
            create_time=now, next_attempt_time=None if failing else now))
    return result


def webhook_consumers(bus: Bus, engine: Engine, new_id: Callable[[], str],
                      clock: Callable) -> list[InboxConsumer]:
    def handle(connection, value, message) -> None:
        event = domain.from_bus(value)
        if event is None or not event.workspace:
            return
        hooks = subscribed_webhooks(connection, event.workspace)
        if hooks:
            insert_deliveries(connection, deliveries_for(event, hooks, new_id, clock()))

    return [InboxConsumer(bus, engine, integrations_inbox, topic, SUBSCRIPTION.format(family=family),
                          event_schemas.load(family), handle) for topic, family in TOPICS]
