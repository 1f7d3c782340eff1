"""Notify events as Avro envelopes of the notify topic (event_schemas/notify.v1.avsc)."""

from __future__ import annotations

from typing import Any

import event_schemas

from svc_notify.domain.events import NotifyEvent

NAMESPACE = "marketing.notify.v1"
TOPIC = "persistent://public/default/marketing.notify.v1"
PRODUCER = "svc_notify"
SCHEMA = event_schemas.load("notify.v1")
_STRING_FIELDS = {
    "message_queued": (),
    "message_sent": ("provider", "provider_message_id", "address", "template_version", "variant", "cost_currency"),
    "message_delivered": ("provider", "provider_message_id"),
    "message_failed": ("reason", "provider", "provider_response"),
    "message_suppressed": ("reason", "suppression"),
    "message_bounced": ("bounce_type", "address", "provider", "detail"),
    "message_complained": ("address", "provider", "detail"),
    "message_opened": ("user_agent",),
    "message_clicked": ("url", "user_agent"),
    "message_cancelled": ("reason",),
}
_INT_FIELDS = {"message_sent": ("attempt", "cost_micros"), "message_failed": ("attempt",)}
# message_queued travels as a MessageSent with only `message` set: a new union branch would not be FULL compatible.
# message_cancelled (with its campaign) travels as a MessageFailed record with only `message` and `reason`.
_RECORD = {"message_queued": "message_sent", "message_cancelled": "message_failed"}


def record_name(event_type: str) -> str:
    """message_sent -> marketing.notify.v1.MessageSent"""
    event_type = _RECORD.get(event_type, event_type)
    return f"{NAMESPACE}." + "".join(part.capitalize() for part in event_type.split("_"))


def payload(event: NotifyEvent) -> dict[str, Any]:
    m = event.message
    record: dict[str, Any] = {"message": {
        "message": m.name, "channel": m.channel, "recipient": m.recipient, "category": m.category,
        "campaign": m.campaign, "idempotency_key": m.idempotency_key, "labels": dict(m.labels),
        "variant": m.variant}}
    for name in _STRING_FIELDS[event.type]:
        record[name] = str(event.data.get(name) or "")
    for name in _INT_FIELDS.get(event.type, ()):
        record[name] = int(event.data.get(name) or 0)
    return record


def envelope(event: NotifyEvent, traceparent: str | None = None, tracestate: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_type": event.type,
        "workspace": event.message.workspace,
        "aggregate_id": event.message.id,
        "aggregate_version": event.message.version,
        "occurred_at": event.occurred_at,
        "producer": PRODUCER,
        "traceparent": traceparent,
        "tracestate": tracestate,
        "payload": (record_name(event.type), payload(event)),
    }
