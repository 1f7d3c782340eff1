"""The analytics service's bus consumers, each a thread started by bootstrap, each idempotent
through the inbox (svc_kit.events.inbox) and the writer's dedupe: an event id in the inbox is
skipped, and an id the store already holds is not stored again, so a redelivered event changes
nothing.

- notify (marketing.notify.v1): every message event, one row each (source notify);
- campaign (marketing.campaign.v1): lifecycle events (campaign_started, ...);
- audience (marketing.audience.v1): profile_erased erases the profile's events and, once the
  store holds none of them, confirms with profile_erasure_confirmed (marketing.privacy.v1);
  profile_unsubscribed becomes the campaign's message_unsubscribed.

A batch of messages (what the bus has ready, up to the writer's batch size) is written in one
insert; the writer drops ids already stored, so an event that reached the store but not the
inbox (a crash between the two) is not stored twice either."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

import event_schemas
from svc_kit.bus.port import Bus, Message
from svc_kit.events import erasure
from svc_kit.events.inbox import InboxConsumer
from svc_kit.events.outbox import Outbox
from svc_kit.metrics import ServiceMetrics, seconds_since
from svc_kit.trace_context import message_context

from svc_analytics.adapters.tables import analytics_inbox, analytics_outbox
from svc_analytics.domain.model import StoredEvent
from svc_analytics.entrypoints import bus_events
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.unsubscribes import unsubscribe_event

log = logging.getLogger("svc_analytics")

NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"
CAMPAIGN_TOPIC = "persistent://public/default/marketing.campaign.v1"
AUDIENCE_TOPIC = "persistent://public/default/marketing.audience.v1"
NOTIFY_SUBSCRIPTION = "svc_analytics-notify"
CAMPAIGN_SUBSCRIPTION = "svc_analytics-campaign"
AUDIENCE_SUBSCRIPTION = "svc_analytics-audience"
ERASED = "profile_erased"
UNSUBSCRIBED = "profile_unsubscribed"
ERASURE_OUTBOX = Outbox(analytics_outbox, erasure.SCHEMAS)
GATHER = 0.05  # seconds a batch waits for more ready messages

Rows = Callable[[Mapping[str, Any]], list[StoredEvent]]


class StoringConsumer(InboxConsumer):
    """An InboxConsumer that stores each new event's rows. A batch is handled in three steps: the ids
    the inbox already holds are left out; the rows of the others are written (the writer drops ids
    the store already holds, so an event stored by a run that died before its inbox commit is not
    stored twice); then the ids go into the inbox and the messages are acknowledged. The store write
    happens outside the inbox transaction, so no database lock is held while it runs (an ingest call
    writing its event_tracked outbox rows never waits for a consumer). A failure nacks the batch."""

    def __init__(self, bus: Bus, engine: Engine, topic: str, subscription: str, schema_name: str, rows: Rows,
                 write: Callable[[list[StoredEvent]], Any], max_batch: int = 1000,
                 metrics: ServiceMetrics | None = None, log_level: int = logging.DEBUG):
        self._rows_of = rows
        self.log_level = log_level  # of the line each stored event gets (INFO for the few lifecycle events)
        self._write = write
        self.max_batch = max_batch
        super().__init__(bus, engine, analytics_inbox, topic, subscription, event_schemas.load(schema_name),
                         lambda connection, value, message: None, metrics=metrics)

    def _seen(self, event_ids: list[str]) -> set[str]:
        inbox = self.inbox
        with self.engine.connect() as connection:
            return set(connection.execute(select(inbox.c.event_id).where(
                inbox.c.subscription == self.subscription, inbox.c.event_id.in_(event_ids))).scalars())

    def handle(self, message: Message) -> None:
        self.handle_batch([message])

    def handle_batch(self, messages: list[Message]) -> None:
        try:
            seen = self._seen(sorted({m.value["event_id"] for m in messages}))
            rows: list[StoredEvent] = []
            stored: list[Message] = []
            for message in messages:
                event_id = message.value["event_id"]
                if event_id not in seen:
                    seen.add(event_id)
                    new_rows = self._rows_of(message.value)
                    rows += new_rows
                    if new_rows:
                        stored.append(message)
            if rows:
                self._write(rows)
            if log.isEnabledFor(self.log_level):
                for message in stored:  # each line with the trace of the call that caused the event
                    with message_context(message.properties):
                        log.log(self.log_level, "%s: stored %s", self.subscription, message.value["event_type"],
                                extra={"event_id": message.value["event_id"],
                                       "workspace": message.value.get("workspace")})
        except Exception:  # noqa: BLE001 - redelivered later
            log.exception("%s: storing %d events failed; they will be redelivered", self.subscription,
                          len(messages))
            self._batch_done("failed")
            for message in messages:
                self.consumer.nack(message)
            return
        self._batch_done("ok")
        if stored:  # mkt_analytics_ingest_lag_seconds: publish time -> stored, per stored event
            lag = self.consumer.metrics.analytics_ingest_lag.labels(self.consumer.metrics.service)
            for message in stored:
                lag.observe(seconds_since(message.publish_time))
        if len(messages) == 1:
            super().handle(messages[0])
        else:
            super().handle_batch(messages)

    def _batch_done(self, outcome: str) -> None:
        m = self.consumer.metrics
        m.analytics_batches.labels(m.service, outcome).inc()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll(0.2, self.max_batch, GATHER)
            except Exception:  # noqa: BLE001 - a bus hiccup: the messages come back
                log.exception("%s: receiving failed; retrying", self.subscription)
                stop.wait(0.5)


def notify_consumer(bus: Bus, engine: Engine, write, clock: Callable[[], datetime],
                    max_batch: int = 1000) -> StoringConsumer:
    def rows(value):
        event = bus_events.notify_event(value, clock())
        return [event] if event is not None else []

    return StoringConsumer(bus, engine, NOTIFY_TOPIC, NOTIFY_SUBSCRIPTION, "notify.v1", rows, write, max_batch)


def campaign_consumer(bus: Bus, engine: Engine, write, clock: Callable[[], datetime],
                      max_batch: int = 1000) -> StoringConsumer:
    def rows(value):
        event = bus_events.campaign_event(value, clock())
        return [event] if event is not None else []

    return StoringConsumer(bus, engine, CAMPAIGN_TOPIC, CAMPAIGN_SUBSCRIPTION, "campaign.v1", rows, write,
                           max_batch, log_level=logging.INFO)


def confirm_erasure(engine: Engine, value: Mapping[str, Any], counts: Mapping[str, int]) -> None:
    """profile_erasure_confirmed through the analytics outbox. Written after the store's deletion
    and before the inbox records the event: a crash in between erases again (nothing left) and
    confirms a second time, which the audience service's erasure request takes once."""
    erasure_ = erasure.erasure_of(value)
    if erasure_ is None:
        return
    with engine.begin() as connection:
        ERASURE_OUTBOX.write(connection, [erasure.confirmation_entry(erasure_, "analytics", counts)])


def audience_consumer(bus: Bus, engine: Engine, write, store: EventStore,
                      erase: Callable[[str, str], Mapping[str, int] | None],
                      clock: Callable[[], datetime], on_confirmed: Callable[[], object] = lambda: None
                      ) -> StoringConsumer:
    def rows(value):
        payload = value.get("payload") or {}
        workspace = value["workspace"]
        profile = bus_events.last_segment(payload.get("profile", ""), "profiles") or value["aggregate_id"]
        if value["event_type"] == ERASED:
            counts = erase(workspace, profile)
            if counts is not None:
                confirm_erasure(engine, value, counts)
                on_confirmed()
            return []
        if value["event_type"] == UNSUBSCRIBED:
            return [unsubscribe_event(store, workspace, value["event_id"], profile,
                                      bus_events.last_segment(payload.get("campaign") or "", "campaigns"),
                                      bus_events.channel_of(payload.get("channel") or ""),
                                      bus_events.occurred(value), clock())]
        return []

    # One message at a time: an erasure is not held up by, or retried with, other events.
    return StoringConsumer(bus, engine, AUDIENCE_TOPIC, AUDIENCE_SUBSCRIPTION, "audience.v1", rows, write, 1)
