"""Audit records as `audit_recorded` events (family audit.v1): each service writes the
records of its write and admin calls into its own transactional outbox; its relay
publishes them to the audit topic, and the integrations service keeps them per
workspace (consumed once each through its inbox)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

import event_schemas
from svc_kit.audit import AuditRecord
from svc_kit.events.entry import OutboxEntry
from svc_kit.events.outbox import Outbox
from svc_kit.ids import new_id
from svc_kit.trace_context import current_trace_headers

AUDIT_TOPIC = "persistent://public/default/marketing.audit.v1"
AUDIT_SCHEMA = event_schemas.load("audit.v1")
EVENT_TYPE = "audit_recorded"

log = logging.getLogger("svc_kit.audit")


def to_entry(record: AuditRecord, producer: str, event_id: str | None = None) -> OutboxEntry:
    event = {
        "event_id": event_id or new_id(), "event_type": EVENT_TYPE, "workspace": record.workspace,
        "occurred_at": record.time, "producer": producer,
        "traceparent": current_trace_headers().get("traceparent"),  # the audited call's
        "payload": {"principal": record.principal, "via": record.via, "action": record.action,
                    "resource": record.resource, "source_address": record.source_address,
                    "status": record.status, "etag_before": record.etag_before, "etag_after": record.etag_after},
    }
    return OutboxEntry(event["event_id"], AUDIT_TOPIC, record.workspace, event, {"event_type": EVENT_TYPE})


def from_event(event: dict) -> tuple[str, AuditRecord]:
    """(event id, record) of a decoded `audit_recorded` event."""
    payload = event["payload"]
    occurred: datetime = event["occurred_at"]
    return event["event_id"], AuditRecord(
        workspace=event["workspace"], principal=payload["principal"], via=payload.get("via", ""),
        action=payload["action"], resource=payload["resource"], time=occurred,
        source_address=payload.get("source_address", ""), status=payload["status"],
        etag_before=payload.get("etag_before", ""), etag_after=payload.get("etag_after", ""))


class OutboxAuditSink:
    """Writes each record as one row of the service's outbox (its own transaction, committed
    before the call's response is sent) and wakes the relay."""

    def __init__(self, engine: Engine, outbox: Outbox, producer: str, wake: Callable[[], None] = lambda: None):
        self.engine = engine
        self.outbox = outbox
        self.producer = producer
        self.wake = wake

    def __call__(self, record: AuditRecord) -> None:
        with self.engine.begin() as connection:
            self.outbox.write(connection, [to_entry(record, self.producer)])
        self.wake()
