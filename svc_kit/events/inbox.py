"""Idempotent consumers: the event id goes into the consumer's inbox table in
the same transaction as the side effect, so a redelivered event (the bus is
at-least-once) finds its id there and changes nothing a second time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.bus.port import Bus, Message, SubscriptionOptions
from svc_kit.bus.schema import EventSchema
from svc_kit.clock import utcnow
from svc_kit.db import UTCDateTime
from svc_kit.events.metered import MeteredConsumer
from svc_kit.events.spans import consume_span
from svc_kit.metrics import ServiceMetrics
from svc_kit.trace_context import extract_context  # noqa: F401 - for subclasses' log context

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
                 schema: EventSchema, handler: Handler, options: SubscriptionOptions | None = None,
                 metrics: ServiceMetrics | None = None):
        self.engine = engine
        self.inbox = inbox
        self.subscription = subscription
        self.handler = handler
        self.topic = topic
        self.consumer = MeteredConsumer(bus.consumer(topic, subscription, schema, options), subscription, metrics)
        self.processed = 0
        self.duplicates = 0
        self._statements: dict[str, object] = {}

    def _record(self, connection: Connection, event_ids: list[str]) -> set[str]:
        """Inserts the ids into the inbox; returns those that were not there yet."""
        dialect = connection.dialect.name
        if dialect not in self._statements:
            self._statements[dialect] = (_INSERT[dialect](self.inbox).on_conflict_do_nothing()
                                         .returning(self.inbox.c.event_id))
        now = utcnow()
        rows = [{"subscription": self.subscription, "event_id": e, "processed_time": now} for e in event_ids]
        return set(connection.execute(self._statements[dialect], rows).scalars())

    def _span(self, message: Message):
        """The CONSUMER span of the message, the child of its producer span (svc_kit.events.spans)."""
        return consume_span(self.topic, self.subscription, message)

    def _process(self, connection: Connection, messages: list[Message]) -> list[bool]:
        """Records the events in the inbox and runs the handler for the new
        ones (a duplicate within the batch counts once); True where it ran."""
        new = self._record(connection, [m.value["event_id"] for m in messages])
        firsts = []
        for message in messages:
            event_id = message.value["event_id"]
            first = event_id in new
            new.discard(event_id)
            if first:
                with self._span(message):
                    self.handler(connection, message.value, message)
            firsts.append(first)
        return firsts

    def handle(self, message: Message) -> None:
        """One message in its own transaction; a failing handler nacks it."""
        try:
            with self.engine.begin() as connection:
                [first] = self._process(connection, [message])
        except Exception:
            from svc_kit.trace_context import message_context  # the failure's line in the message's trace

            with message_context(message.properties):
                log.exception("handling %s failed; it will be redelivered", message.value.get("event_id"))
            self.consumer.nack(message)
            return
        self._count(first)
        self.consumer.ack(message, "processed" if first else "duplicate")

    def handle_batch(self, messages: list[Message]) -> None:
        """Several messages in one transaction (one commit instead of many); if
        any handler fails, each message is retried in a transaction of its own."""
        try:
            with self.engine.begin() as connection:
                firsts = self._process(connection, messages)
        except Exception:  # noqa: BLE001 - isolate the failing message
            for message in messages:
                self.handle(message)
            return
        for message, first in zip(messages, firsts, strict=True):
            self._count(first)
            self.consumer.ack(message, "processed" if first else "duplicate")

    def _count(self, first: bool) -> None:
        if first:
            self.processed += 1
        else:
            self.duplicates += 1

    def poll(self, timeout: float = 0.1, max_batch: int = 100, max_gather: float = 0.002) -> bool:
        """Waits up to `timeout` for a message, then takes what else is already
        there (up to `max_batch`, for at most `max_gather` seconds) and handles
        them together: batching never holds a message back for long."""
        message = self.consumer.receive(timeout)
        if message is None:
            return False
        batch = [message]
        gather_until = time.monotonic() + max_gather
        while (len(batch) < max_batch and time.monotonic() < gather_until
               and (more := self.consumer.receive(0)) is not None):
            batch.append(more)
        if len(batch) == 1:
            self.handle(message)
        else:
            self.handle_batch(batch)
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll(0.2)

    def close(self) -> None:
        self.consumer.close()
