"""The channel send: an in-app message goes to the recipient's inbox; any other
goes through its channel's providers (priority order; the next one on a retry)
once the provider's rate limits allow. A transient provider failure is retried
with exponential backoff and full jitter up to `max_attempts`, a permanent one
fails the message; every attempt is a Delivery. The message's id travels with
it (Message-ID, Idempotency-Key) so a provider can drop a repeat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from svc_kit.channels import Channel
from svc_kit.ids import new_id

from svc_notify.domain import events
from svc_notify.domain.inbox import InboxItem
from svc_notify.domain.model import (Delivery, DeliveryState, EmailContent, InAppContent, Message, PushContent,
                                     SmsContent, State)
from svc_notify.domain.pacing import retry_delay
from svc_notify.domain.providers import Provider
from svc_notify.service_layer.dispatch.rate_limits import RateLimits
from svc_notify.service_layer.dispatch.stops import CampaignStops
from svc_notify.service_layer.dispatch.work import DispatchConfig, Settled, Work, addresses, deferred
from svc_notify.service_layer.ports import AnySender, ConfigurationError, OutgoingEmail, Outcome, Senders

log = logging.getLogger("svc_notify.dispatcher")


def _delivery_state(outcome: Outcome) -> DeliveryState:
    if outcome.accepted:
        return DeliveryState.ACCEPTED
    return DeliveryState.PERMANENT_FAILURE if outcome.permanent else DeliveryState.RETRYABLE_FAILURE


class ChannelSender:
    def __init__(self, registry: Senders, limits: RateLimits, config: DispatchConfig,
                 clock: Callable[[], datetime], rng: Callable[[], float], stops: CampaignStops | None = None):
        self.stops = stops
        self.registry = registry
        self.limits = limits
        self.config = config
        self.clock = clock
        self.rng = rng
        self.sent = 0  # messages handed to a provider (or an inbox)

    async def deliver(self, work: Work, configured: list[Provider]) -> Settled:
        message = work.message
        try:
            if message.channel is Channel.IN_APP:
                return self._to_inbox(work)
            return await self._send(work, configured)
        except Exception as error:  # noqa: BLE001 - one message's trouble must not sink the pass
            log.exception("sending %s failed unexpectedly", message.name)
            return self._after_failure(message, None, Outcome.transient(f"internal error: {type(error).__name__}"),
                                       [])

    def _to_inbox(self, work: Work) -> Settled:
        message, now = work.message, self.clock()
        content = work.content if isinstance(work.content, InAppContent) else InAppContent(title="(no content)")
        # The item takes its message's id: newest first is the order the messages were sent in,
        # not the order a dispatcher pass happened to deliver them.
        item = InboxItem(message.workspace, message.recipient, message.id, message.id, content,
                         message.campaign, create_time=now)
        message.attempt_count += 1
        message.address = f"workspaces/{message.workspace}/inboxes/{message.recipient}"
        message.mark_delivered(now, "in the recipient's in-app inbox")
        delivery = Delivery(message.workspace, message.id, new_id(), message.attempt_count, "",
                            DeliveryState.DELIVERED, message.address, item.id, "stored in the inbox",
                            start_time=now, end_time=now, report_time=now)
        self.sent += 1
        return Settled(message, [delivery], [events.event(events.SENT, message, now, address=message.address,
                                                          attempt=message.attempt_count),
                                             events.event(events.DELIVERED, message, now)], [item])

    async def _send(self, work: Work, configured: list[Provider]) -> Settled:
        message = work.message
        providers = self.registry.providers_for(message.workspace, message.channel, configured)
        if not providers:
            return deferred(message, self.clock(), self.config.no_provider_retry,
                            f"no enabled provider for CHANNEL_{message.channel.value} in workspace "
                            f"{message.workspace}; create one (this message is tried again every "
                            f"{self.config.no_provider_retry:.0f} s)")
        provider = providers[message.attempt_count % len(providers)]  # the next one on each retry
        to = addresses(work.recipient, message.channel)
        domain = to[0].rpartition("@")[2].lower() if message.channel is Channel.EMAIL else ""
        stop = (lambda: self._stopped(message)) if self.stops is not None else None
        held = await self.limits.wait_turn(provider, domain, self.config.hold_for_rate, self.rng, stop)
        if held is not None:
            return deferred(message, self.clock(), *held)
        if why := await self._stopped(message):
            return deferred(message, self.clock(), 0, why)
        try:
            sender = self.registry.sender(provider)
        except ConfigurationError as error:
            return self._after_failure(message, provider, Outcome.transient(f"provider not usable: {error}"), [])
        if message.due_time is not None and self.clock() > message.due_time - self.config.lease / 2:
            # Late in its lease, a message may be reclaimed or cancelled (CancelCampaignMessages) by the
            # time the provider has it: hand it over only well inside the lease, else try again.
            return deferred(message, self.clock(), 0, "the lease ran short before the hand-over; tried again")
        message.attempt_count += 1
        start = self.clock()
        # Each adapter bounds its own calls (SMTP command and HTTP timeouts), well inside the lease.
        outcomes = await self._hand_over(sender, provider, work, to)
        end = self.clock()
        deliveries = [Delivery(message.workspace, message.id, new_id(), message.attempt_count, provider.id,
                               _delivery_state(o), address, o.provider_message_id, o.response[:4000],
                               start_time=start, end_time=end) for address, o in outcomes]
        accepted = [(a, o) for a, o in outcomes if o.accepted]
        if accepted:
            address, first = accepted[0]
            message.address = address if len(to) == 1 else f"{len(accepted)} of {len(to)} devices"
            message.mark_sent(provider.id, first.provider_message_id, end)
            self.sent += 1
            return Settled(message, deliveries, [events.event(
                events.SENT, message, end, provider=provider.name, provider_message_id=first.provider_message_id,
                address=address, attempt=message.attempt_count, template_version=message.template_version,
                variant=message.variant, cost_micros=provider.unit_cost.micros if provider.unit_cost else 0,
                cost_currency=provider.unit_cost.currency if provider.unit_cost else "")], provider=provider.kind)
        message.address = to[0]
        worst = next((o for _, o in outcomes if not o.permanent), outcomes[0][1])
        settled = self._after_failure(message, provider, worst, deliveries)
        settled.provider = provider.kind
        return settled

    async def _stopped(self, message: Message) -> str:
        if self.stops is not None and await self.stops.stopped(message):
            return f"{message.campaign} is held (paused or cancelled) in the notify service"
        return ""

    def _after_failure(self, message: Message, provider: Provider | None, outcome: Outcome,
                       deliveries: list[Delivery]) -> Settled:
        now = self.clock()
        provider_name = provider.name if provider else ""
        if message.state is not State.SENDING:  # pragma: no cover - defensive
            return Settled(message, deliveries)
        if outcome.permanent or message.attempt_count >= self.config.max_attempts:
            reason = (f"permanent provider error: {outcome.response}" if outcome.permanent else
                      f"gave up after {message.attempt_count} attempts; last answer: {outcome.response}")
            message.fail(reason, now)
            return Settled(message, deliveries, [events.event(
                events.FAILED, message, now, reason=reason, provider=provider_name,
                provider_response=outcome.response, attempt=message.attempt_count)])
        delay = retry_delay(max(message.attempt_count, 1), outcome.retry_after, self.config.retry_base,
                            self.config.retry_cap, self.rng)
        at = now + timedelta(seconds=delay)
        message.defer(at, f"transient provider error (attempt {message.attempt_count} of {self.config.max_attempts}): "
                          f"{outcome.response}; next attempt {at.isoformat(timespec='seconds')}", now)
        return Settled(message, deliveries)

    async def _hand_over(self, sender: AnySender, provider: Provider, work: Work,
                         to: list[str]) -> list[tuple[str, Outcome]]:
        message, content = work.message, work.content
        if isinstance(content, EmailContent):
            email = OutgoingEmail.of(content, provider, to[0], message.id, message.workspace, self.clock(),
                                     (("X-Notify-Message", message.name),))
            return [(to[0], await sender.send_email(email))]
        if isinstance(content, SmsContent):
            return [(to[0], await sender.send(to[0], content.body, message.name))]
        if isinstance(content, PushContent):
            data = dict(content.data)
            if content.deep_link:
                data.setdefault("deep_link", content.deep_link)
            data.setdefault("message", message.name)
            results = await asyncio.gather(*(sender.send(token, content.title, content.body, data, content.image_url,
                                                         f"{message.name}/{i}")
                                             for i, token in enumerate(to)))
            return list(zip(to, results, strict=True))
        return [(to[0], Outcome.refused(f"no {message.channel.value.lower()} content to send"))]
