"""The transactional outbox: a service writes its events into its own outbox
table in the same transaction as the change; `OutboxRelay` publishes them in
order and marks them sent. A relay stopped between publish and mark sends
those events again when it is back (at-least-once); consumers deduplicate on
the event id through their inbox."""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Column, Connection, Engine, Index, Integer, LargeBinary, MetaData,
                        String, Table, bindparam, func, insert, select, update)

from svc_kit.bus.port import Bus, OutgoingMessage
from svc_kit.bus.schema import EventSchema
from svc_kit.clock import utcnow
from svc_kit.db import UTCDateTime
from svc_kit.events.entry import OutboxEntry
from svc_kit.events.spans import publish_span, with_current_trace
from svc_kit.metrics import ServiceMetrics, service_metrics

__all__ = ["Outbox", "OutboxEntry", "OutboxRelay", "Relay", "outbox_table", "start_relay"]

IDLE_AFTER, IDLE_WAIT = 2.0, 0.1  # Relay.run: how long empty before it looks less often, and how often then
log = logging.getLogger("svc_kit.outbox")

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
Position = BigInteger().with_variant(Integer(), "sqlite")


def outbox_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("event_id", String(26), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("value", LargeBinary, nullable=False),  # Avro, written with the topic's schema
        Column("properties", JSON, nullable=False),
        Column("created_time", UTCDateTime, nullable=False),
        Column("published_time", UTCDateTime),
        Index(f"ix_{name}_unpublished", "published_time", "position"),
    )


class Outbox:
    """Writes entries into an outbox table on the caller's connection (and so
    inside the caller's transaction)."""

    def __init__(self, table: Table, schemas: Mapping[str, EventSchema]):
        self.table = table
        self.schemas = schemas  # topic -> schema

    def write(self, connection: Connection, entries: Sequence[OutboxEntry], now: datetime | None = None) -> None:
        if not entries:
            return
        now = now or utcnow()
        connection.execute(insert(self.table), [
            {"event_id": e.event_id, "topic": e.topic, "key": e.key,
             "value": self.schemas[e.topic].encode(e.record), "properties": with_current_trace(e.properties),
             "created_time": now}
            for e in entries
        ])


@dataclass(frozen=True)
class Pending:
    id: Any  # the store's own position or key
    topic: str
    key: str
    value: bytes
    properties: Mapping[str, str]


class OutboxStore(abc.ABC):
    """Where a service's outbox lives: rows in its SQL database, documents in its MongoDB one."""

    @abc.abstractmethod
    def unpublished(self, limit: int) -> list[Pending]:
        """The oldest unpublished entries, in the order they were written."""

    @abc.abstractmethod
    def mark_published(self, ids: list[Any]) -> None: ...

    def backlog(self) -> tuple[int, datetime | None]:
        """How many entries wait to be published, and when the oldest was written (None when none):
        mkt_outbox_pending_events and mkt_outbox_oldest_pending_age_seconds, one query per scrape."""
        raise NotImplementedError


class SqlOutboxStore(OutboxStore):
    def __init__(self, engine: Engine, table: Table):
        self.engine = engine
        self._unpublished = (select(table).where(table.c.published_time.is_(None))
                             .order_by(table.c.position).limit(bindparam("limit")))
        self._backlog = select(func.count(), func.min(table.c.created_time)).where(table.c.published_time.is_(None))
        self._mark = (update(table).where(table.c.position.in_(bindparam("positions", expanding=True)))
                      .values(published_time=bindparam("t")))

    def unpublished(self, limit: int) -> list[Pending]:
        with self.engine.connect() as connection:
            rows = connection.execute(self._unpublished, {"limit": limit}).all()
        return [Pending(r.position, r.topic, r.key, r.value, r.properties) for r in rows]

    def mark_published(self, ids: list[Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(self._mark, {"positions": ids, "t": utcnow()})

    def backlog(self) -> tuple[int, datetime | None]:
        with self.engine.connect() as connection:
            count, oldest = connection.execute(self._backlog).one()
        return int(count or 0), oldest


class Relay:
    """Publishes unpublished outbox entries in order, a batch at a time."""

    def __init__(self, store: OutboxStore, schemas: Mapping[str, EventSchema], bus: Bus, batch_size: int = 500,
                 idle_wait: float = 0.02, metrics: ServiceMetrics | None = None):
        self.store = store
        self.metrics = metrics or service_metrics()
        self.metrics.outbox_backlog.add(store)
        self.schemas = schemas
        self.bus = bus
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self._producers: dict[str, Any] = {}
        self.wake = threading.Event()
        self.published = 0

    def _producer(self, topic: str):
        if topic not in self._producers:
            self._producers[topic] = self.bus.producer(topic, self.schemas[topic])
        return self._producers[topic]

    def run_once(self) -> int:
        """Publishes one batch; returns how many entries it published."""
        entries = self.store.unpublished(self.batch_size)
        if not entries:
            return 0
        by_topic: dict[str, list[Pending]] = {}
        for entry in entries:
            by_topic.setdefault(entry.topic, []).append(entry)
        for topic, topic_entries in by_topic.items():
            # One PRODUCER span per entry, the child of the call that wrote it; the message carries the
            # span's context, so its consumers continue the same trace (svc_kit.events.spans).
            spans, messages = [], []
            for e in topic_entries:
                span, properties = publish_span(topic, e.properties or {})
                spans.append(span)
                messages.append(OutgoingMessage(e.key, e.value, properties))
            try:
                self._producer(topic).send_batch(messages)
            finally:
                for span in spans:
                    span.end()
        self.store.mark_published([e.id for e in entries])
        self.published += len(entries)
        m = self.metrics
        for topic, topic_entries in by_topic.items():
            m.outbox_published.labels(m.service, topic).inc(len(topic_entries))
        return len(entries)

    def run(self, stop: threading.Event) -> None:
        """Publishes until `stop` is set; a failing bus is retried with backoff. Woken at once by this
        process's commits (`wake`); otherwise it looks every idle_wait, and every IDLE_WAIT once the
        outbox has been empty for IDLE_AFTER seconds (rows written by other processes then wait a
        little longer; an idle service's relay costs a tenth of the CPU)."""
        backoff = 0.1
        empty_since: float | None = None
        while not stop.is_set():
            try:
                sent = self.run_once()
                backoff = 0.1
            except Exception:  # noqa: BLE001 - the relay must outlive broker outages
                log.exception("outbox relay failed; retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self.batch_size:
                now = time.monotonic()
                empty_since = (empty_since or now) if sent == 0 else None
                idle = empty_since is not None and now - empty_since >= IDLE_AFTER
                self.wake.wait(max(self.idle_wait, IDLE_WAIT) if idle else self.idle_wait)
                self.wake.clear()

    def close(self) -> None:
        self.metrics.outbox_backlog.remove(self.store)
        for producer in self._producers.values():
            producer.close()
        self._producers.clear()


class OutboxRelay(Relay):
    """The relay of an outbox table in a SQL database."""

    def __init__(self, engine: Engine, outbox: Outbox, bus: Bus, **options):
        super().__init__(SqlOutboxStore(engine, outbox.table), outbox.schemas, bus, **options)


def start_relay(relay: Relay) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), name="outbox-relay", daemon=True)
    thread.start()
    return thread, stop
