"""What the notify service tells the rest of the platform about a message
(published through the outbox on marketing.notify.v1, keyed by message name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from svc_kit.ids import new_id

from svc_notify.domain.model import Message

QUEUED = "message_queued"
SENT = "message_sent"
DELIVERED = "message_delivered"
FAILED = "message_failed"
SUPPRESSED = "message_suppressed"
BOUNCED = "message_bounced"
COMPLAINED = "message_complained"
OPENED = "message_opened"
CLICKED = "message_clicked"
CANCELLED = "message_cancelled"
TYPES = (QUEUED, SENT, DELIVERED, FAILED, SUPPRESSED, BOUNCED, COMPLAINED, OPENED, CLICKED, CANCELLED)


@dataclass(frozen=True)
class MessageRef:
    """The message as it was when the event happened."""

    workspace: str
    id: str
    name: str
    channel: str
    recipient: str  # profile resource name
    category: str
    campaign: str
    idempotency_key: str
    labels: dict[str, str]
    version: int
    variant: str = ""

    @classmethod
    def of(cls, m: Message) -> MessageRef:
        return cls(m.workspace, m.id, m.name, m.channel.value, m.recipient_name, m.category.value, m.campaign,
                   m.idempotency_key, dict(m.labels), m.version,
                   m.variant or (m.template.variant if m.template else ""))


@dataclass(frozen=True)
class NotifyEvent:
    type: str
    message: MessageRef
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_id)


def event(event_type: str, message: Message, now: datetime, **data: Any) -> NotifyEvent:
    return NotifyEvent(event_type, MessageRef.of(message), now, data)
