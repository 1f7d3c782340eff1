"""The notify service's model: messages and their delivery state machine,
delivery attempts, and rendered content (in-app inbox items: domain/inbox.py).

A message moves through

    QUEUED -> SENDING -> SENT -> DELIVERED | BOUNCED
       \\         |  \\-> FAILED | SUPPRESSED | DEFERRED (-> SENDING again)
        \\-> DEFERRED, CANCELLED

The dispatcher claims a due QUEUED or DEFERRED message by turning it SENDING
under a lease (a claim token and an expiry); only the holder of the lease may
record the outcome. Pacing never drops a message: it defers it."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Union

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, FailedPrecondition


class State(enum.Enum):
    QUEUED = "QUEUED"
    DEFERRED = "DEFERRED"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    BOUNCED = "BOUNCED"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"
    CANCELLED = "CANCELLED"


WAITING = frozenset({State.QUEUED, State.DEFERRED})  # a dispatcher may claim these when due
FINAL = frozenset({State.DELIVERED, State.BOUNCED, State.FAILED, State.SUPPRESSED, State.CANCELLED})

# state -> states it may move to
TRANSITIONS: dict[State, frozenset[State]] = {
    State.QUEUED: frozenset({State.SENDING, State.DEFERRED, State.CANCELLED}),
    State.DEFERRED: frozenset({State.SENDING, State.DEFERRED, State.CANCELLED}),
    State.SENDING: frozenset({State.SENT, State.DELIVERED, State.DEFERRED, State.FAILED, State.SUPPRESSED}),
    State.SENT: frozenset({State.DELIVERED, State.BOUNCED}),
    # A bounce can arrive after the receiving server first accepted the message.
    State.DELIVERED: frozenset({State.BOUNCED}),
    State.BOUNCED: frozenset(),
    State.FAILED: frozenset(),
    State.SUPPRESSED: frozenset(),
    State.CANCELLED: frozenset(),
}


class Category(enum.Enum):
    MARKETING = "MARKETING"
    TRANSACTIONAL = "TRANSACTIONAL"


class BounceType(enum.Enum):
    HARD = "HARD"
    SOFT = "SOFT"


# -- content -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailContent:
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SmsContent:
    body: str = ""


@dataclass(frozen=True)
class PushContent:
    title: str = ""
    body: str = ""
    data: dict[str, str] = field(default_factory=dict)
    image_url: str = ""
    deep_link: str = ""


@dataclass(frozen=True)
class InAppContent:
    title: str = ""
    body: str = ""
    image_url: str = ""
    actions: tuple[tuple[str, str], ...] = ()  # (label, url)
    data: dict[str, str] = field(default_factory=dict)


Content = Union[EmailContent, SmsContent, PushContent, InAppContent]
CONTENT_CHANNEL: dict[type, Channel] = {EmailContent: Channel.EMAIL, SmsContent: Channel.SMS,
                                        PushContent: Channel.PUSH, InAppContent: Channel.IN_APP}


@dataclass(frozen=True)
class TemplateSource:
    template: str  # workspaces/{w}/templates/{t} or .../versions/{v}
    variant: str = ""
    data: dict | None = None  # extra variables (JSON object)


# -- messages ------------------------------------------------------------------------------------------


def etag_of(*parts: object) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


class EtagChecked:
    """A resource changed with optimistic concurrency: an etag given with a change must be the current one."""

    name: str
    etag: str

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"etag {etag!r} is stale: {self.name} changed since it was read (current etag "
                          f"{self.etag!r}); read it again and retry")


@dataclass
class Message(EtagChecked):
    workspace: str
    id: str
    channel: Channel
    recipient: str  # the profile's external id
    idempotency_key: str
    category: Category = Category.MARKETING
    campaign: str = ""  # campaign resource name, or ""
    template: TemplateSource | None = None
    content: Content | None = None
    send_time: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    state: State = State.QUEUED
    state_reason: str = ""
    due_time: datetime | None = None  # when a waiting message is next tried; a SENDING one's lease expiry
    attempt_count: int = 0
    provider: str = ""  # provider id
    provider_message_id: str = ""
    address: str = ""  # the address used for the last attempt
    template_version: str = ""
    variant: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    sent_time: datetime | None = None
    deliver_time: datetime | None = None
    first_open_time: datetime | None = None
    first_click_time: datetime | None = None
    version: int = 1
    lease: str = ""  # claim token of the dispatcher holding it while SENDING
    trace_context: str = ""  # W3C traceparent of the call that accepted it (opaque here; its delivery continues it)
    # When the latest hold on purpose ended (the requested send time, quiet hours, a frequency cap, a
    # paused campaign): the hand-off's lateness counts from there, not from the acceptance.
    held_until: datetime | None = None

    @classmethod
    def accept(cls, workspace: str, message_id: str, channel: Channel, recipient: str, idempotency_key: str,
               now: datetime, **fields) -> Message:
        """A new message: QUEUED, or DEFERRED until its `send_time` when that is later."""
        message = cls(workspace, message_id, channel, recipient, idempotency_key, create_time=now,
                      update_time=now, due_time=now, **fields)
        if message.send_time is not None and message.send_time > now:
            message.state = State.DEFERRED
            message.due_time = message.send_time
            message.state_reason = f"requested send time {message.send_time.isoformat()}"
        return message

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/messages/{self.id}"

    @property
    def recipient_name(self) -> str:
        return f"workspaces/{self.workspace}/profiles/{self.recipient}"

    @property
    def etag(self) -> str:
        return etag_of(self.workspace, self.id, self.version)

    @property
    def next_attempt_time(self) -> datetime | None:
        return self.due_time if self.state in WAITING else None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def _move(self, to: State, now: datetime, reason: str = "") -> None:
        if to not in TRANSITIONS[self.state]:
            raise FailedPrecondition(f"{self.name} is {self.state.value}; it cannot become {to.value}",
                                     metadata={"state": self.state.value})
        self.state = to
        self.state_reason = reason
        self.update_time = now
        self.version += 1

    # the dispatcher's moves; each requires SENDING (the claim) unless said otherwise

    def claim(self, token: str, lease_until: datetime, now: datetime) -> None:
        """QUEUED or DEFERRED (due) -> SENDING; a SENDING message whose lease
        expired (its dispatcher died) may be claimed again."""
        if self.state is State.SENDING:
            if self.due_time is not None and self.due_time > now:
                raise FailedPrecondition(f"{self.name} is being sent by another dispatcher")
            self.update_time, self.version = now, self.version + 1
        else:
            self._move(State.SENDING, now, self.state_reason)
        self.lease = token
        self.due_time = lease_until

    def defer(self, until: datetime, reason: str, now: datetime, planned: bool = False) -> None:
        """Wait until `until`: `planned` when the platform holds it on purpose (send time, quiet hours,
        caps), not because something failed (a provider's or a dependency's error)."""
        self._move(State.DEFERRED, now, reason)
        self.due_time = until
        self.lease = ""
        if planned:
            self.held_until = until

    def suppress(self, reason: str, now: datetime) -> None:
        self._move(State.SUPPRESSED, now, reason)
        self.due_time = None
        self.lease = ""

    def fail(self, reason: str, now: datetime) -> None:
        self._move(State.FAILED, now, reason)
        self.due_time = None
        self.lease = ""

    def mark_sent(self, provider: str, provider_message_id: str, now: datetime) -> None:
        self._move(State.SENT, now, "accepted by the provider")
        self.provider, self.provider_message_id = provider, provider_message_id
        self.sent_time = now
        self.due_time = None
        self.lease = ""

    def mark_delivered(self, now: datetime, reason: str = "delivered") -> None:
        if self.state is State.SENDING:  # in-app: delivered the moment it is stored
            self.sent_time = now
        self._move(State.DELIVERED, now, reason)
        self.deliver_time = now
        self.due_time = None
        self.lease = ""

    def mark_bounced(self, reason: str, now: datetime) -> None:
        self._move(State.BOUNCED, now, reason)

    def cancel(self, now: datetime) -> None:
        if self.state not in WAITING:
            raise FailedPrecondition(f"cannot cancel a message in state {self.state.value}; only QUEUED or "
                                     "DEFERRED messages can be cancelled", metadata={"state": self.state.value})
        self._move(State.CANCELLED, now, "cancelled")
        self.due_time = None


# -- deliveries ------------------------------------------------------------------------


class DeliveryState(enum.Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DELIVERED = "DELIVERED"
    BOUNCED = "BOUNCED"
    RETRYABLE_FAILURE = "RETRYABLE_FAILURE"
    PERMANENT_FAILURE = "PERMANENT_FAILURE"


@dataclass
class Delivery:
    workspace: str
    message_id: str
    id: str
    attempt: int
    provider: str
    state: DeliveryState
    address: str = ""
    provider_message_id: str = ""
    provider_response: str = ""
    bounce_type: BounceType | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    report_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/messages/{self.message_id}/deliveries/{self.id}"
