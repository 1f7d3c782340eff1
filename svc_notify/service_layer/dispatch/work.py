"""What the dispatcher's parts hand each other: its settings, a message on its
way (with its recipient and content), and a message's settled outcome of a
pass (the deliveries, events and inbox items to record with it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svc_kit.channels import Channel

from svc_notify.domain import events
from svc_notify.domain.inbox import InboxItem
from svc_notify.domain.model import Content, Delivery, Message
from svc_notify.service_layer.ports import Recipient


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 500
    lease: timedelta = timedelta(seconds=120)
    max_attempts: int = 6
    retry_base: float = 2.0  # seconds; the backoff ceiling doubles per attempt
    retry_cap: float = 600.0
    dependency_retry: float = 5.0  # after a failed call to the audience or content service
    no_provider_retry: float = 60.0
    hold_for_rate: float = 1.0  # wait this long at most for a rate-limit token; defer beyond
    workers: int = 2  # passes in flight at once
    flush_every: int = 500  # outcomes recorded per transaction at most...
    flush_seconds: float = 0.1  # ...and at least this often (what a crash could make go out twice)
    idle_max: float = 5.0  # longest sleep when nothing is due


@dataclass
class Work:
    message: Message
    recipient: Recipient | None = None
    content: Content | None = None


@dataclass
class Settled:
    message: Message
    deliveries: list[Delivery] = field(default_factory=list)
    events: list[events.NotifyEvent] = field(default_factory=list)
    inbox: list[InboxItem] = field(default_factory=list)
    provider: str = ""  # the kind (smtp, twilio, fcm) of the provider this pass handed the message to (or tried)


def deferred(message: Message, now: datetime, seconds: float, reason: str) -> Settled:
    message.defer(now + timedelta(seconds=seconds), reason, now)
    return Settled(message)


def addresses(recipient: Recipient, channel: Channel) -> list[str]:
    if channel is Channel.EMAIL:
        return [recipient.email] if recipient.email else []
    if channel is Channel.SMS:
        return [recipient.phone] if recipient.phone else []
    if channel is Channel.PUSH:
        return list(recipient.device_tokens)
    return [recipient.external_id]
