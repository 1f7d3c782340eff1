"""The delivery worker: sends due deliveries, records each attempt, schedules retries with backoff
and jitter, and disables a webhook whose delivery exhausted its retries (its pending deliveries are
dead-lettered). Isolation: each endpoint has at most `per_endpoint` attempts in flight, each bounded
by `timeout`; the worker claims per endpoint, so one slow or failing endpoint's backlog never holds
up another's deliveries. Several replicas may run: a delivery is claimed with a lease."""

from __future__ import annotations

import asyncio
import logging
import random
import threading

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from svc_integrations.domain import webhooks as domain
from svc_integrations.domain.webhooks import Attempt, Delivery, Webhook
from svc_integrations.service_layer.webhooks import Resolver, Sender, WebhookStore

log = logging.getLogger("svc_integrations.webhooks")

PAUSED_KEEP = timedelta(days=3)      # a PAUSED webhook's events wait this long for :resume
LOG_KEEP = timedelta(days=30)        # finished deliveries stay in the log this long
UPKEEP_EVERY = 600.0                 # seconds between the two clean-ups


class DeliverySignals(Protocol):
    def attempted(self, outcome: str, seconds: float) -> None: ...
    def disabled(self) -> None: ...


class NoSignals:
    def attempted(self, outcome: str, seconds: float) -> None:
        pass

    def disabled(self) -> None:
        pass


async def send_checked(hook: Webhook, delivery: Delivery, sender: Sender, resolver: Resolver, mode: str,
                       now: datetime) -> Attempt:
    """One signed POST of the delivery, after checking again where the URL leads (DNS rebinding)."""
    problems = domain.check_uri(hook.uri, mode)
    if not problems and mode == domain.PRODUCTION:
        host = urlsplit(hook.uri).hostname or ""
        try:
            addresses = await asyncio.to_thread(resolver.resolve, host)
        except OSError as error:
            return Attempt(0, 0, f"{host} does not resolve: {error}")
        problems = domain.check_resolved(host, addresses, mode)
    if problems:
        return Attempt(0, 0, f"refused: {problems[0].description}")
    timestamp = int(now.timestamp())
    headers = domain.headers(hook.signing_secrets(now), delivery.id, timestamp, delivery.body, hook.headers)
    return await sender.send(hook.uri, headers, delivery.body)


class DeliveryWorker:
    def __init__(self, store: WebhookStore, sender: Sender, resolver: Resolver, clock: Callable[[], datetime],
                 owner: str, mode: str = domain.DEVELOPMENT,
                 schedule: Sequence[float] = domain.DEFAULT_SCHEDULE, timeout: float = 10.0,
                 per_endpoint: int = 4, poll_seconds: float = 0.5, rand: Callable[[], float] = random.random,
                 signals: DeliverySignals | None = None):
        self.signals = signals or NoSignals()
        self.store = store
        self.sender = sender
        self.resolver = resolver
        self.clock = clock
        self.owner = owner
        self.mode = mode
        self.schedule = tuple(schedule)
        self.timeout = timeout
        self.per_endpoint = per_endpoint
        self.poll_seconds = poll_seconds
        self.rand = rand
        self.lease = timedelta(seconds=timeout * 2 + 30)
        self._in_flight: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task] = set()
        self.sent = 0
        self._next_upkeep = 0.0

    async def tick(self) -> int:
        """Claims what is due for every endpoint below its limit and starts sending; returns how
        many attempts it started."""
        now = self.clock()
        started = 0
        for key in await asyncio.to_thread(self.store.due_webhooks, now, 500):
            free = self.per_endpoint - self._in_flight.get(key, 0)
            if free <= 0:
                continue  # this endpoint is busy; the others go on
            claimed = await asyncio.to_thread(self.store.claim, key[0], key[1], now, self.owner, now + self.lease,
                                              free)
            if not claimed:
                continue
            hook = await asyncio.to_thread(self.store.get, *key)
            for delivery in claimed:
                if hook is None:
                    break
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                task = asyncio.create_task(self._deliver(key, hook, delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started += 1
        return started

    async def _deliver(self, key: tuple[str, str], hook: Webhook, delivery: Delivery) -> None:
        try:
            try:
                attempt = await asyncio.wait_for(
                    send_checked(hook, delivery, self.sender, self.resolver, self.mode, self.clock()), self.timeout)
            except TimeoutError:
                attempt = Attempt(0, int(self.timeout * 1000), f"timed out after {self.timeout:g}s")
            await asyncio.to_thread(self.record, hook, delivery, attempt)
        except Exception:  # noqa: BLE001 - the lease expires and the attempt is made again
            log.exception("delivering %s failed", delivery.name)
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

    def record(self, hook: Webhook, delivery: Delivery, attempt: Attempt) -> Delivery:
        now = self.clock()
        after = domain.after_attempt(delivery, attempt, now, self.schedule, self.rand)
        if not self.store.finish(after, self.owner):
            log.warning("lost the lease of %s; its outcome is not recorded", delivery.name)
            return after
        self.sent += 1
        outcome = ("succeeded" if attempt.ok else "refused" if attempt.error.startswith("refused")
                   else "failed" if after.state == domain.FAILED else "retrying")
        self.signals.attempted(outcome, attempt.latency_ms / 1000)
        if attempt.ok:
            self.store.note_success(hook.workspace, hook.id, now)
        else:
            self.store.note_failure(hook.workspace, hook.id)
            log.info("delivery %s to %s failed (attempt %d): %s", delivery.name, hook.uri, after.attempt_count,
                     after.error)
        if after.state == domain.FAILED:
            reason = (f"disabled after delivery {delivery.id} failed {after.failures} times over about a day; "
                      f"last error: {after.error}")
            dead = self.store.disable(hook.workspace, hook.id, reason, now)
            self.signals.disabled()
            log.warning("webhook %s disabled (%d pending deliveries dead-lettered): %s", hook.name, dead, reason)
        return after

    def upkeep(self) -> tuple[int, int]:
        """Dead-letters what PAUSED webhooks kept longer than 3 days; prunes the log past 30 days."""
        now = self.clock()
        pruned = self.store.prune(now - LOG_KEEP)  # first: what expires now stays in the log
        expired = self.store.expire_paused(now - PAUSED_KEEP)
        if expired or pruned:
            log.info("webhook upkeep: %d deliveries of paused webhooks dead-lettered, %d old ones pruned", expired,
                     pruned)
        return expired, pruned

    async def run(self, stop: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= self._next_upkeep:
                    self._next_upkeep = loop.time() + UPKEEP_EVERY
                    await asyncio.to_thread(self.upkeep)
                started = await self.tick()
            except Exception:  # noqa: BLE001 - the database may be back next time
                log.exception("the webhook delivery worker's poll failed")
                started = 0
            if not started:
                await asyncio.sleep(self.poll_seconds)
            else:
                await asyncio.sleep(0.01)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.timeout)

    def run_in_thread(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=lambda: asyncio.run(self.run(stop)), name="webhook-delivery", daemon=True)
        thread.start()
        return thread


