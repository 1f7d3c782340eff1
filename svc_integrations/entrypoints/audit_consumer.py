"""Appends the audit events of every service (family audit.v1) to the audit log, each
once (the inbox records its id in the same transaction as the entry)."""

from __future__ import annotations

from sqlalchemy import Engine

from svc_kit.bus.port import Bus
from svc_kit.events.audit import AUDIT_SCHEMA, AUDIT_TOPIC, from_event
from svc_kit.events.inbox import InboxConsumer

from svc_integrations.adapters.audit_store import insert_entry
from svc_integrations.adapters.tables import integrations_inbox

SUBSCRIPTION = "svc_integrations-audit-log"


def _append(connection, event, message) -> None:
    event_id, record = from_event(event)
    insert_entry(connection, event_id, record)


def audit_consumer(bus: Bus, engine: Engine) -> InboxConsumer:
    return InboxConsumer(bus, engine, integrations_inbox, AUDIT_TOPIC, SUBSCRIPTION, AUDIT_SCHEMA, _append)
