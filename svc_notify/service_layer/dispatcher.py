"""The dispatcher: takes due messages and sends them, at the pace the rules allow.

One pass:
1. claims up to `batch_size` due messages with one conditional UPDATE (they
   become SENDING under a lease only this pass holds);
2. per workspace, asks the audience service for the recipients' profiles and
   whether each may be reached on the channel for the message's category
   (not reachable: SUPPRESSED with the reason);
3. applies pacing to marketing messages: quiet hours in the recipient's time
   zone and frequency caps across campaigns defer a message to its next
   allowed time (DEFERRED with next_attempt_time), never drop it;
4. renders template messages through the content service;
5. sends each through its channel's providers (priority order; the next one
   on a retry), waiting briefly for a rate-limit token or deferring when the
   wait is long; a transient provider failure is retried with exponential
   backoff and full jitter up to `max_attempts`, a permanent one fails the
   message; every attempt is a Delivery;
6. records outcomes in small transactions, only where the lease still holds,
   with their events (outbox) in the same transaction.

A call to another service that fails leaves the messages DEFERRED with the
reason for the next pass; nothing is retried here that the mesh would retry.

Exactly once: the claim makes one dispatcher the only sender of a message.
If the process dies after a provider accepted a message and before its outcome
is recorded, the lease expires and the message is sent again: delivery is
at-least-once at the provider boundary, and the message's id travels with it
(the Message-ID header, an Idempotency-Key header) so providers can drop the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svc_kit.channels import Channel
from svc_kit.clock import utcnow
from svc_kit.ids import new_id

from svc_notify.domain import events
from svc_notify.domain.providers import Provider
from svc_notify.domain.settings import NotifySettings
from svc_notify.domain.model import (Category, Content, Delivery, DeliveryState, EmailContent, InAppContent,
                                     InboxItem, Message, PushContent, SmsContent, State)
from svc_notify.domain.pacing import TokenBucket, next_allowed, retry_delay
from svc_notify.service_layer.ports import (Audience, ConfigurationError, ContentRenderer, OutgoingEmail, Outcome,
                                            Reach, Recipient, RenderRequest, Senders, Unavailable)
from svc_notify.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_notify.dispatcher")
RECORD_RETRIES = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, None)  # pauses between attempts to record outcomes


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
    flush_seconds: float = 0.25  # ...and at least this often (what a crash could make go out twice)
    idle_max: float = 5.0  # longest sleep when nothing is due


@dataclass
class _Work:
    message: Message
    recipient: Recipient | None = None
    content: Content | None = None


@dataclass
class _Outcome:
    message: Message
    deliveries: list[Delivery] = field(default_factory=list)
    events: list[events.NotifyEvent] = field(default_factory=list)
    inbox: list[InboxItem] = field(default_factory=list)


class RateLimits:
    """Token buckets per provider and per (provider, recipient domain), in this process."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self.buckets: dict[tuple, TokenBucket] = {}

    def _buckets(self, provider: Provider, domain: str) -> list[tuple[tuple, TokenBucket]]:
        found = []
        now = self.monotonic()
        key = (provider.workspace, provider.id, provider.version)
        if provider.rate_limit is not None and provider.rate_limit.limited:
            limit = provider.rate_limit
            bucket = self.buckets.get(key) or self.buckets.setdefault(
                key, TokenBucket(limit.messages_per_second, limit.bucket_size, now))
            found.append((key, bucket))
        for item in provider.domain_rate_limits:
            if item.domain == domain:
                domain_key = (*key, domain)
                bucket = self.buckets.get(domain_key) or self.buckets.setdefault(
                    domain_key, TokenBucket(item.rate_limit.messages_per_second, item.rate_limit.bucket_size, now))
                found.append((domain_key, bucket))
        return found

    def take(self, provider: Provider, domain: str) -> tuple[float, tuple | None]:
        """(0, None) when a token was taken from every bucket that applies; else the
        longest wait and the bucket's key (nothing is taken then)."""
        buckets = self._buckets(provider, domain)
        if not buckets:
            return 0.0, None
        now = self.monotonic()
        waits = [(b.wait(now), key) for key, b in buckets]
        longest = max(waits, key=lambda w: w[0])
        if longest[0] > 0:
            return longest
        for _, bucket in buckets:
            bucket.take(now)
        return 0.0, None

    def rate_of(self, key: tuple) -> float:
        return self.buckets[key].rate


def _address(recipient: Recipient, channel: Channel) -> list[str]:
    if channel is Channel.EMAIL:
        return [recipient.email] if recipient.email else []
    if channel is Channel.SMS:
        return [recipient.phone] if recipient.phone else []
    if channel is Channel.PUSH:
        return list(recipient.device_tokens)
    return [recipient.external_id]


class Dispatcher:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], audience: Audience, content: ContentRenderer,
                 registry: Senders, config: DispatchConfig = DispatchConfig(),
                 clock: Callable[[], datetime] = utcnow, rng: Callable[[], float] = random.random,
                 monotonic: Callable[[], float] = time.monotonic):
        self.uow = uow_factory
        self.audience = audience
        self.content = content
        self.registry = registry
        self.config = config
        self.clock = clock
        self.rng = rng
        self.limits = RateLimits(monotonic)
        self.sent = 0  # messages handed to a provider (or an inbox) by this dispatcher
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # -- running -------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Thread-safe: a message was queued or became due earlier than planned."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        workers = [asyncio.create_task(self._worker(stop, i)) for i in range(self.config.workers)]
        await stop.wait()
        self._wake.set()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, stop: asyncio.Event, index: int) -> None:
        await asyncio.sleep(index * 0.01)
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # noqa: BLE001 - a pass that fails leaves its messages leased; they come back
                log.exception("dispatcher pass failed; retrying")
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed >= self.config.batch_size or stop.is_set():
                continue
            await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Sleeps until the next message is due (at most idle_max), or a wake-up."""
        self._wake.clear()  # before looking: a message queued from now on wakes this sleep
        due = await asyncio.to_thread(self._next_due)
        now = self.clock()
        wait = self.config.idle_max if due is None else min(max((due - now).total_seconds(), 0.0),
                                                              self.config.idle_max)
        if wait <= 0:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), wait)
        except TimeoutError:
            pass

    def _next_due(self) -> datetime | None:
        with self.uow() as uow:
            return uow.messages.next_due_time()

    # -- one pass ------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claims and handles one batch; returns how many messages it claimed."""
        token = new_id()
        now = self.clock()
        claimed, rules, configured = await asyncio.to_thread(self._claim, token, now)
        if not claimed:
            return 0
        done: list[_Outcome] = []
        pending: list[asyncio.Task] = []
        by_workspace: dict[str, list[Message]] = {}
        for message in claimed:
            by_workspace.setdefault(message.workspace, []).append(message)
        for workspace, batch in by_workspace.items():
            try:
                ready = await self._prepare(workspace, batch, rules[workspace], done)
                ready = await self._render(ready, done)
            except Exception:  # noqa: BLE001 - a bug here must not strand the batch under its lease
                log.exception("preparing %d messages of workspace %s failed", len(batch), workspace)
                settled = {id(o.message) for o in done}
                done += [self._defer(m, self.config.dependency_retry, "internal error while preparing the "
                                                                       "message (see the service log); retrying")
                         for m in batch if id(m) not in settled and m.state is State.SENDING]
                continue
            providers = configured[workspace]
            pending += [asyncio.create_task(self._deliver(work, providers)) for work in ready]
        await self._record(token, done)
        buffer: list[_Outcome] = []
        last = time.monotonic()
        for next_done in asyncio.as_completed(pending):
            buffer.append(await next_done)
            if len(buffer) >= self.config.flush_every or time.monotonic() - last >= self.config.flush_seconds:
                await self._record(token, buffer)
                buffer, last = [], time.monotonic()
        await self._record(token, buffer)
        return len(claimed)

    def _claim(self, token: str, now: datetime):
        with self.uow() as uow:
            claimed = uow.messages.claim_due(now, self.config.batch_size, token, now + self.config.lease)
            uow.commit()
            workspaces = {m.workspace for m in claimed}
            rules = {w: uow.settings.get(w) for w in workspaces}
            configured = {w: uow.providers.enabled(w) for w in workspaces}
        return claimed, rules, configured

    def _defer(self, message: Message, seconds: float, reason: str) -> _Outcome:
        now = self.clock()
        message.defer(now + timedelta(seconds=seconds), reason, now)
        return _Outcome(message)

    async def _prepare(self, workspace: str, batch: list[Message], rules: NotifySettings,
                       done: list[_Outcome]) -> list[_Work]:
        """Reachability and pacing; returns the messages that may go now."""
        now = self.clock()
        waiting: list[Message] = []
        for message in batch:
            if message.send_time is not None and message.send_time > now:
                message.defer(message.send_time, f"requested send time {message.send_time.isoformat()}", now)
                done.append(_Outcome(message))
            else:
                waiting.append(message)
        if not waiting:
            return []
        try:
            recipients = await self.audience.recipients(workspace, [m.recipient for m in waiting])
            groups: dict[tuple[Channel, Category], list[Message]] = {}
            for message in waiting:
                groups.setdefault((message.channel, message.category), []).append(message)
            reach: dict[tuple[Channel, Category], dict[str, Reach]] = {}
            for (channel, category), members in groups.items():
                reach[(channel, category)] = await self.audience.reachability(
                    workspace, channel, category, [m.recipient for m in members if m.recipient in recipients])
        except Unavailable as error:
            done += [self._defer(m, self.config.dependency_retry,
                                 f"waiting for the audience service ({error.code}): {error.detail}; retrying")
                     for m in waiting]
            return []
        marketing = [m for m in waiting if m.category is Category.MARKETING]
        history: dict[str, list] = {}
        if rules.frequency_caps and marketing:
            longest = max(c.period for c in rules.frequency_caps)
            history = await asyncio.to_thread(self._history, workspace, [m.recipient for m in marketing],
                                              now - longest)
        ready = []
        for message in waiting:
            now = self.clock()
            recipient = recipients.get(message.recipient)
            verdict = reach.get((message.channel, message.category), {}).get(message.recipient)
            if recipient is None or verdict is None or not verdict.reachable:
                reason = "NOT_FOUND" if recipient is None else (verdict.reason if verdict else "NOT_FOUND")
                text = {"NOT_FOUND": f"no profile {message.recipient_name}",
                        "NO_ADDRESS": f"the profile has no address for CHANNEL_{message.channel.value}",
                        "NO_CONSENT": f"no consent for marketing on CHANNEL_{message.channel.value}",
                        "SUPPRESSED": f"suppressed by {verdict.suppression if verdict else ''}"}.get(reason, reason)
                message.suppress(f"{reason}: {text}", now)
                done.append(_Outcome(message, events=[events.event(
                    events.SUPPRESSED, message, now, reason=reason,
                    suppression=verdict.suppression if verdict else "")]))
                continue
            if not _address(recipient, message.channel):
                message.suppress(f"NO_ADDRESS: the profile has no address for CHANNEL_{message.channel.value}", now)
                done.append(_Outcome(message, events=[events.event(events.SUPPRESSED, message, now,
                                                                   reason="NO_ADDRESS")]))
                continue
            if message.category is Category.MARKETING and (rules.quiet_hours or rules.frequency_caps):
                sends = history.setdefault(message.recipient, [])
                later = next_allowed(now, rules.zone_for(recipient.time_zone), rules.quiet_hours,
                                     rules.frequency_caps, sends, message.channel)
                if later is not None:
                    at, reason = later
                    message.defer(at, reason, now)
                    done.append(_Outcome(message))
                    continue
                sends.append((now, message.channel))  # counts for the recipient's next message in this pass
            ready.append(_Work(message, recipient, message.content))
        return ready

    def _history(self, workspace: str, recipients: list[str], since: datetime) -> dict[str, list]:
        with self.uow() as uow:
            return uow.messages.sends_since(workspace, recipients, since)

    async def _render(self, ready: list[_Work], done: list[_Outcome]) -> list[_Work]:
        groups: dict[tuple[str, str, str], list[_Work]] = {}
        out = []
        for work in ready:
            if work.message.template is None:
                out.append(work)
            else:
                t = work.message.template
                groups.setdefault((t.template, work.message.campaign, t.variant), []).append(work)
        for (template, campaign, variant), members in groups.items():
            requests = [RenderRequest(w.message.recipient_name, w.message.name, w.message.template.data)
                        for w in members]
            try:
                results = await self.content.render(template, campaign, variant, requests)
            except Unavailable as error:
                done += [self._defer(w.message, self.config.dependency_retry,
                                     f"waiting for the content service to render {template} ({error.code}): "
                                     f"{error.detail}; retrying") for w in members]
                continue
            for work, result in zip(members, results, strict=True):
                now = self.clock()
                if result.content is None:
                    if result.permanent:
                        work.message.fail(f"cannot render {template}: {result.error}", now)
                        done.append(_Outcome(work.message, events=[events.event(
                            events.FAILED, work.message, now, reason=work.message.state_reason)]))
                    else:
                        done.append(self._defer(work.message, self.config.dependency_retry,
                                                f"rendering {template} failed for now: {result.error or 'no content'}; "
                                                "retrying"))
                    continue
                work.content = result.content
                work.message.template_version = result.template_version
                work.message.variant = result.variant
                out.append(work)
        return out

    # -- sending -------------------------------------------------------------------------------------

    async def _deliver(self, work: _Work, configured: list[Provider]) -> _Outcome:
        message = work.message
        try:
            if message.channel is Channel.IN_APP:
                return self._to_inbox(work)
            return await self._send(work, configured)
        except Exception as error:  # noqa: BLE001 - one message's trouble must not sink the pass
            log.exception("sending %s failed unexpectedly", message.name)
            return self._after_failure(message, None, Outcome.transient(f"internal error: {type(error).__name__}"),
                                       [])

    def _to_inbox(self, work: _Work) -> _Outcome:
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
        return _Outcome(message, [delivery], [events.event(events.SENT, message, now, address=message.address,
                                                           attempt=message.attempt_count),
                                              events.event(events.DELIVERED, message, now)], [item])

    async def _send(self, work: _Work, configured: list[Provider]) -> _Outcome:
        message = work.message
        providers = self.registry.providers_for(message.workspace, message.channel, configured)
        if not providers:
            return self._defer(message, self.config.no_provider_retry,
                               f"no enabled provider for CHANNEL_{message.channel.value} in workspace "
                               f"{message.workspace}; create one (this message is tried again every "
                               f"{self.config.no_provider_retry:.0f} s)")
        provider = providers[message.attempt_count % len(providers)]  # the next one on each retry
        addresses = _address(work.recipient, message.channel)
        domain = addresses[0].rpartition("@")[2].lower() if message.channel is Channel.EMAIL else ""
        while True:
            wait, bucket = self.limits.take(provider, domain)
            if wait == 0:
                break
            if wait > self.config.hold_for_rate:
                spread = self.rng() / max(self.limits.rate_of(bucket), 0.001)
                what = f"the rate limit of {provider.name}" + (f" for {domain}" if len(bucket) == 4 else "")
                return self._defer(message, wait + spread, f"{what}; next token in {wait:.1f} s")
            await asyncio.sleep(wait)
        try:
            sender = self.registry.sender(provider)
        except ConfigurationError as error:
            return self._after_failure(message, provider, Outcome.transient(f"provider not usable: {error}"), [])
        message.attempt_count += 1
        start = self.clock()
        # Each adapter bounds its own calls (SMTP command and HTTP timeouts), well inside the lease.
        outcomes = await self._hand_over(sender, provider, work, addresses)
        end = self.clock()
        deliveries = [Delivery(message.workspace, message.id, new_id(), message.attempt_count, provider.id,
                               _delivery_state(o), address, o.provider_message_id, o.response[:4000],
                               start_time=start, end_time=end) for address, o in outcomes]
        accepted = [(a, o) for a, o in outcomes if o.accepted]
        if accepted:
            address, first = accepted[0]
            message.address = address if len(addresses) == 1 else f"{len(accepted)} of {len(addresses)} devices"
            message.mark_sent(provider.id, first.provider_message_id, end)
            self.sent += 1
            return _Outcome(message, deliveries, [events.event(
                events.SENT, message, end, provider=provider.name, provider_message_id=first.provider_message_id,
                address=address, attempt=message.attempt_count, template_version=message.template_version,
                variant=message.variant)])
        message.address = addresses[0]
        worst = next((o for _, o in outcomes if not o.permanent), outcomes[0][1])
        return self._after_failure(message, provider, worst, deliveries)

    def _after_failure(self, message: Message, provider: Provider | None, outcome: Outcome,
                       deliveries: list[Delivery]) -> _Outcome:
        now = self.clock()
        provider_name = provider.name if provider else ""
        if message.state is not State.SENDING:  # pragma: no cover - defensive
            return _Outcome(message, deliveries)
        if outcome.permanent or message.attempt_count >= self.config.max_attempts:
            reason = (f"permanent provider error: {outcome.response}" if outcome.permanent else
                      f"gave up after {message.attempt_count} attempts; last answer: {outcome.response}")
            message.fail(reason, now)
            return _Outcome(message, deliveries, [events.event(
                events.FAILED, message, now, reason=reason, provider=provider_name,
                provider_response=outcome.response, attempt=message.attempt_count)])
        delay = retry_delay(max(message.attempt_count, 1), outcome.retry_after, self.config.retry_base,
                            self.config.retry_cap, self.rng)
        at = now + timedelta(seconds=delay)
        message.defer(at, f"transient provider error (attempt {message.attempt_count} of {self.config.max_attempts}): "
                          f"{outcome.response}; next attempt {at.isoformat(timespec='seconds')}", now)
        return _Outcome(message, deliveries)

    async def _hand_over(self, sender, provider: Provider, work: _Work, addresses: list[str]):
        message, content = work.message, work.content
        if isinstance(content, EmailContent):
            email = OutgoingEmail.of(content, provider, addresses[0], message.id, message.workspace, self.clock(),
                                     (("X-Notify-Message", message.name),))
            return [(addresses[0], await sender.send_email(email))]
        if isinstance(content, SmsContent):
            return [(addresses[0], await sender.send(addresses[0], content.body, message.name))]
        if isinstance(content, PushContent):
            data = dict(content.data)
            if content.deep_link:
                data.setdefault("deep_link", content.deep_link)
            data.setdefault("message", message.name)
            results = await asyncio.gather(*(sender.send(token, content.title, content.body, data, content.image_url,
                                                         f"{message.name}/{i}")
                                             for i, token in enumerate(addresses)))
            return list(zip(addresses, results, strict=True))
        return [(addresses[0], Outcome.refused(f"no {message.channel.value.lower()} content to send"))]

    # -- recording -----------------------------------------------------------------------------------

    async def _record(self, token: str, outcomes: list[_Outcome]) -> None:
        """Records outcomes, retrying a failing database for a while: what was handed to a
        provider and not recorded would go out again once its lease expires."""
        if not outcomes:
            return
        batch = list(outcomes)
        outcomes.clear()
        for delay in RECORD_RETRIES:
            try:
                await asyncio.to_thread(self._write, token, batch)
                return
            except Exception:  # noqa: BLE001 - retried, then left to the lease
                if delay is None:
                    raise
                log.exception("recording %d outcomes failed; retrying in %.1f s", len(batch), delay)
                await asyncio.sleep(delay)

    def _write(self, token: str, outcomes: list[_Outcome]) -> None:
        with self.uow() as uow:
            held: set[tuple[str, str]] = set()
            by_workspace: dict[str, list[str]] = {}
            for o in outcomes:
                by_workspace.setdefault(o.message.workspace, []).append(o.message.id)
            for workspace, ids in by_workspace.items():
                held |= {(workspace, i) for i in uow.messages.holding(workspace, ids, token)}
            kept = [o for o in outcomes if (o.message.workspace, o.message.id) in held]
            if len(kept) < len(outcomes):
                lost = [o.message.name for o in outcomes if (o.message.workspace, o.message.id) not in held]
                log.warning("lease lost before recording %d outcomes (another dispatcher took them over): %s",
                            len(lost), ", ".join(lost[:5]))
            uow.messages.finish([o.message for o in kept], token)
            uow.deliveries.add([d for o in kept for d in o.deliveries])
            uow.inbox.add([i for o in kept for i in o.inbox])
            uow.record(*(e for o in kept for e in o.events))
            if any(o.message.state is State.DEFERRED for o in kept):
                uow.queued = True
            uow.commit()


def _delivery_state(outcome: Outcome) -> DeliveryState:
    if outcome.accepted:
        return DeliveryState.ACCEPTED
    return DeliveryState.PERMANENT_FAILURE if outcome.permanent else DeliveryState.RETRYABLE_FAILURE


def start_in_thread(dispatcher: Dispatcher) -> tuple[threading.Thread, Callable[[], None]]:
    """Runs the dispatcher on an event loop of its own, in a thread; returns the
    thread and a function that stops it (letting the current sends finish)."""
    ready = threading.Event()
    holder: dict = {}

    def main() -> None:
        async def body() -> None:
            holder["loop"] = asyncio.get_running_loop()
            holder["stop"] = asyncio.Event()
            ready.set()
            try:
                await dispatcher.run(holder["stop"])
            finally:
                await dispatcher.registry.close()
                for client in (dispatcher.audience, dispatcher.content):
                    close = getattr(client, "close", None)
                    if close is not None:
                        await close()

        asyncio.run(body())

    thread = threading.Thread(target=main, name="notify-dispatcher", daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        loop, event = holder.get("loop"), holder.get("stop")
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass

    return thread, stop
