"""Idempotent consumers: the event id goes into the consumer's inbox table in
the same transaction as the side effect, so a redelivered event (the bus is
at-least-once) finds its id there and changes nothing a second time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.bus.port import Bus, Message, SubscriptionOptions
from svc_kit.bus.schema import EventSchema
from svc_kit.clock import utcnow
from svc_kit.db import UTCDateTime
from svc_kit.tracing import extract_context

log = logging.getLogger("svc_kit.inbox")
_tracer = trace.get_tracer("svc_kit.events.consumer")
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

Handler = Callable[[Connection, Mapping[str, Any], Message], None]


def inbox_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("subscription", String(255), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_time", UTCDateTime, nullable=False),
    )


class InboxConsumer:
    """Receives from one subscription and runs `handler(connection, event, message)`
    at most once per event id, inside the transaction that records the id."""

    def __init__(self, bus: Bus, engine: Engine, inbox: Table, topic: str, subscription: str,
                 schema: EventSchema, handler: Handler, options: SubscriptionOptions | None = None):
        self.engine = engine
        self.inbox = inbox
        self.subscription = subscription
        self.handler = handler
        self.topic = topic
        self.consumer = bus.consumer(topic, subscription, schema, options)
        self.processed = 0
        self.duplicates = 0

    def _first_time(self, connection: Connection, event_id: str) -> bool:
        statement = (_INSERT[connection.dialect.name](self.inbox)
                     .values(subscription=self.subscription, event_id=event_id, processed_time=utcnow())
                     .on_conflict_do_nothing().returning(self.inbox.c.event_id))
        return connection.execute(statement).first() is not None

    def handle(self, message: Message) -> None:
        event = message.value
        parent = extract_context(list(message.properties.items()))
        with _tracer.start_as_current_span(f"{self.topic} process", context=parent, kind=trace.SpanKind.CONSUMER,
                                            attributes={"messaging.system": "pulsar",
                                                        "messaging.destination.name": self.topic,
                                                        "messaging.message.id": message.message_id,
                                                        "messaging.consumer.group.name": self.subscription}):
            try:
                with self.engine.begin() as connection:
                    if self._first_time(connection, event["event_id"]):
                        self.handler(connection, event, message)
                        self.processed += 1
                    else:
                        self.duplicates += 1
            except Exception:
                log.exception("handling %s failed; it will be redelivered", event.get("event_id"))
                self.consumer.nack(message)
                return
        self.consumer.ack(message)

    def poll(self, timeout: float = 0.1) -> bool:
        message = self.consumer.receive(timeout)
        if message is None:
            return False
        self.handle(message)
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll(0.2)

    def close(self) -> None:
        self.consumer.close()
