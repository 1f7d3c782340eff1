"""What the privacy contract tests share: a profile_erased event through a real (embedded) bus
into a service's ErasureConsumer, and the confirmations its outbox then holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select

from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.events import erasure
from svc_kit.events.erasure import ErasureConsumer
from svc_kit.events.outbox import Outbox

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def profile_erased(workspace: str, profile: str, event_id: str | None = None) -> dict:
    return {"event_id": event_id or uuid.uuid4().hex[:26], "event_type": "profile_erased", "workspace": workspace,
            "aggregate_id": profile, "aggregate_version": 1, "occurred_at": NOW, "producer": "svc_audience",
            "traceparent": None, "tracestate": None,
            "payload": ("marketing.audience.v1.ProfileErased", {"profile": f"workspaces/{workspace}/profiles/{profile}"})}


def deliver(engine: Engine, tmp_path, inbox: Table, outbox: Outbox, service: str, erase, records: list[dict]) -> int:
    """Publishes the records and lets the service's consumer take them all; returns how many it erased."""
    bus = EmbeddedBus(tmp_path / f"bus-{uuid.uuid4().hex[:6]}.sqlite3")
    try:
        consumer = ErasureConsumer(bus, engine, inbox, outbox, f"{service}-erasure-test", service, erase)
        producer = bus.producer(erasure.PROFILE_TOPIC, erasure.PROFILE_SCHEMA)
        for record in records:
            producer.send(record["aggregate_id"], record)
        while consumer.poll(timeout=0.2):
            pass
        consumer.close()
        return consumer.erased
    finally:
        bus.close()


def confirmations(engine: Engine, outbox: Outbox) -> list[dict]:
    table = outbox.table
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.value).where(table.c.topic == erasure.PRIVACY_TOPIC)
                                  .order_by(table.c.position)).scalars().all()
    return [erasure.PRIVACY_SCHEMA.decode(bytes(v)) for v in rows]
