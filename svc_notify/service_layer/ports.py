"""What notify needs from outside, one Protocol per dependency, with the plain
values they exchange and the errors they raise: the audience service
(recipients and reachability), the content service (templates rendered per
recipient), the providers' senders (email, SMS, push) and the secrets they use.
Implementations live in svc_notify.adapters and are wired in bootstrap.py.

No retries or circuit breaking behind these ports: the mesh owns those. A failed
call to another service raises Unavailable; the dispatcher defers the messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Union

from svc_kit.channels import Channel

from svc_notify.domain.model import Category, Content, EmailContent
from svc_notify.domain.providers import Provider, SmtpConfig

Clock = Callable[[], datetime]  # the time source, injected so tests can hold it still

# -- other services ------------------------------------------------------------------------------------


class Unavailable(Exception):
    """A call to another service failed as a whole (unreachable, UNIMPLEMENTED, deadline...)."""

    def __init__(self, service: str, code: str, detail: str):
        super().__init__(f"{service} service {code}: {detail}")
        self.service = service
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Recipient:
    external_id: str
    email: str = ""
    phone: str = ""
    device_tokens: tuple[str, ...] = ()
    time_zone: str = ""


@dataclass(frozen=True)
class Reach:
    reachable: bool
    reason: str = ""  # NOT_FOUND, NO_ADDRESS, NO_CONSENT, SUPPRESSED
    suppression: str = ""


@dataclass(frozen=True)
class Rendered:
    content: Content | None = None
    variant: str = ""
    template_version: str = ""
    error: str = ""
    permanent: bool = False  # the error will not go away by itself (bad template, missing variable)


@dataclass(frozen=True)
class RenderRequest:
    profile: str  # profile resource name
    message: str  # message resource name
    data: dict | None = None


class Audience(Protocol):
    async def recipients(self, workspace: str, external_ids: Sequence[str]) -> dict[str, Recipient]:
        """The profiles that exist, by external id."""

    async def reachability(self, workspace: str, channel: Channel, category: Category,
                           external_ids: Sequence[str]) -> dict[str, Reach]: ...


class ContentRenderer(Protocol):
    async def render(self, template: str, campaign: str, variant: str,
                     requests: Sequence[RenderRequest]) -> list[Rendered]:
        """One result per request, in order."""


# -- providers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    permanent: bool = False
    provider_message_id: str = ""
    response: str = ""  # the provider's answer, for people: `250 2.0.0 OK`, `HTTP 429 ...`
    retry_after: float | None = None  # seconds the provider asked us to wait

    @classmethod
    def transient(cls, response: str, retry_after: float | None = None) -> Outcome:
        return cls(False, False, "", response, retry_after)

    @classmethod
    def refused(cls, response: str) -> Outcome:
        return cls(False, True, "", response)


class ConfigurationError(Exception):
    """The provider cannot be used as configured (a secret is missing, say)."""


@dataclass(frozen=True)
class OutgoingEmail:
    content: EmailContent
    from_address: str
    from_name: str
    to: str
    message_id: str  # ours: the Message-ID header is made of it, the workspace and the sender's domain
    workspace: str
    date: datetime
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, content: EmailContent, provider: Provider, to: str, message_id: str, workspace: str,
           date: datetime, headers: tuple[tuple[str, str], ...] = ()) -> OutgoingEmail:
        """From the provider's sender unless the content names its own."""
        config = provider.config if isinstance(provider.config, SmtpConfig) else SmtpConfig()
        return cls(content, content.from_address or config.from_address, content.from_name or config.from_name,
                   to, message_id, workspace, date, headers)


class ProviderSender(Protocol):
    async def check(self) -> Outcome:
        """Connects and authenticates; sends nothing."""

    async def close(self) -> None: ...


class EmailSender(ProviderSender, Protocol):
    async def send_email(self, email: OutgoingEmail) -> Outcome: ...


class SmsSender(ProviderSender, Protocol):
    async def send(self, to: str, body: str, idempotency_key: str) -> Outcome: ...


class PushSender(ProviderSender, Protocol):
    async def send(self, token: str, title: str, body: str, data: dict[str, str], image_url: str,
                   idempotency_key: str) -> Outcome: ...


AnySender = Union[EmailSender, SmsSender, PushSender]


class Senders(Protocol):
    """The sender of each configured provider (kept, with its connections, between messages)."""

    def sender(self, provider: Provider) -> AnySender:
        """ConfigurationError when it cannot be built (a missing secret)."""

    def providers_for(self, workspace: str, channel: Channel, configured: list[Provider]) -> list[Provider]:
        """The channel's providers in priority order; the default email provider when there are none."""

    async def close(self) -> None: ...


class Secrets(Protocol):
    def get(self, name: str) -> str | None: ...


# -- signals -------------------------------------------------------------------------------------------


class DeliverySignals(Protocol):
    """Where the dispatcher reports each message it settled (implemented in adapters/metrics.py:
    mkt_notify_deliveries_total and mkt_notify_handoff_seconds)."""

    def settled(self, channel: str, provider: str, outcome: str, handoff_seconds: float | None) -> None:
        """outcome: sent, deferred, failed, bounced, suppressed or cancelled; handoff_seconds: from the
        message's acceptance (or requested send time) to its hand-over, for a message handed over."""


class NoSignals:
    def settled(self, channel: str, provider: str, outcome: str, handoff_seconds: float | None) -> None:
        pass


class DeliveryTracing(Protocol):
    """Runs part of a message's delivery (its render, its hand-off to the provider) in the trace of the call
    that accepted the message (`Message.trace_context`); the adapter is OpenTelemetry's."""

    async def traced(self, trace_context: str, name: str, work: Awaitable[Any]) -> Any: ...
