"""The unit of work over SQLAlchemy: one connection and transaction, the SQL
repositories on it, and recorded events written to the outbox table (as Avro
envelopes of the notify topic) in the same transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from svc_kit.db import SqlTransaction

from svc_kit.events import erasure
from svc_kit.events.audit import AUDIT_SCHEMA, AUDIT_TOPIC
from svc_kit.events.outbox import Outbox, OutboxEntry
from svc_kit.tracing import current_trace_headers

from svc_notify.adapters import event_codec
from svc_notify.adapters.repositories import (SqlDeliveryRepository, SqlInboxRepository, SqlMessageRepository,
                                              SqlProviderRepository, SqlSettingsRepository)
from svc_notify.adapters.tables import outbox
from svc_notify.domain.events import NotifyEvent
from svc_notify.service_layer.unit_of_work import UnitOfWork

# The service's events, the audit records of its calls (svc_kit.events.audit) and its erasure
# confirmations share the outbox and its relay.
OUTBOX = Outbox(outbox, {event_codec.TOPIC: event_codec.SCHEMA, AUDIT_TOPIC: AUDIT_SCHEMA, **erasure.SCHEMAS})


class SqlUnitOfWork(SqlTransaction, UnitOfWork):
    def __init__(self, engine: Engine, on_events: Callable[[], None] | None = None,
                 on_queued: Callable[[], None] | None = None):
        super().__init__(engine)
        self.on_events = on_events  # wakes the outbox relay
        self.on_queued = on_queued  # wakes the dispatcher

    def open_repositories(self, connection) -> None:
        self.messages = SqlMessageRepository(connection)
        self.deliveries = SqlDeliveryRepository(connection)
        self.providers = SqlProviderRepository(connection)
        self.settings = SqlSettingsRepository(connection)
        self.inbox = SqlInboxRepository(connection)

    def commit(self) -> None:
        events, self.events = self.events, []
        if events:
            write_events(self.connection, events)
        self.transaction.commit()
        if events and self.on_events is not None:
            self.on_events()
        if self.queued and self.on_queued is not None:
            self.on_queued()
        self.queued = False


def _trace_of(current: dict[str, str], event: NotifyEvent) -> dict[str, str]:
    """The call's trace context; outside any (the dispatcher recording a batch of outcomes), the trace the
    event's message was accepted in, so its delivery events stay in the launch's trace."""
    traceparent = getattr(event.message, "trace_context", "")  # a Message has one; a MessageRef does not
    if current.get("traceparent") or not traceparent:
        return current
    return {"traceparent": traceparent}


def write_events(connection, events: list[NotifyEvent]) -> None:
    current = current_trace_headers()
    entries = []
    for e in events:
        trace = _trace_of(current, e)
        entries.append(OutboxEntry(
            event_id=e.event_id, topic=event_codec.TOPIC, key=e.message.name,
            record=event_codec.envelope(e, trace.get("traceparent"), trace.get("tracestate")),
            properties={**trace, "event_type": e.type, "workspace": e.message.workspace}))
    OUTBOX.write(connection, entries)
