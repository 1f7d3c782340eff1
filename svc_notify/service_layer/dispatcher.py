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

While a batch is in flight, the holds of its campaigns (and only theirs) are
read every quarter second, so a campaign paused or cancelled meanwhile stops
its messages still waiting to go (dispatch/stops.py); every few minutes the
cancelled holds settled and an hour old are pruned.

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
from datetime import datetime

from svc_kit.clock import utcnow
from svc_kit.ids import new_id

from svc_notify.domain.model import Message, State
from svc_notify.service_layer.dispatch.claiming import Claimed, Claimer
from svc_notify.service_layer.dispatch.pacing import Pacer
from svc_notify.service_layer.dispatch.rate_limits import RateLimits
from svc_notify.service_layer.dispatch.recording import Recorder
from svc_notify.service_layer.dispatch.rendering import Renderer
from svc_notify.service_layer.dispatch.sending import ChannelSender
from svc_notify.service_layer.dispatch.stops import CampaignStops
from svc_notify.service_layer.dispatch.work import DispatchConfig, Settled, deferred
from svc_notify.service_layer.ports import Audience, ContentRenderer, DeliverySignals, DeliveryTracing, Senders
from svc_notify.service_layer.unit_of_work import UnitOfWork

__all__ = ["DispatchConfig", "Dispatcher", "start_in_thread"]
log = logging.getLogger("svc_notify.dispatcher")


class Dispatcher:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], audience: Audience, content: ContentRenderer,
                 registry: Senders, config: DispatchConfig = DispatchConfig(),
                 clock: Callable[[], datetime] = utcnow, rng: Callable[[], float] = random.random,
                 monotonic: Callable[[], float] = time.monotonic, signals: DeliverySignals | None = None,
                 tracing: DeliveryTracing | None = None):
        self.tracing = tracing  # None: deliveries continue no trace
        self.audience = audience
        self.content = content
        self.registry = registry
        self.config = config
        self.clock = clock
        self.claimer = Claimer(uow_factory, config)
        self.pacer = Pacer(uow_factory, audience, config, clock)
        self.renderer = Renderer(content, config, clock)
        self.stops = CampaignStops(uow_factory)
        self.sender = ChannelSender(registry, RateLimits(monotonic), config, clock, rng, self.stops)
        self.recorder = Recorder(uow_factory, clock, signals)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def sent(self) -> int:
        """Messages handed to a provider (or an inbox) by this dispatcher."""
        return self.sender.sent

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
                await self.stops.prune_if_due(self.clock())
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
        due = await asyncio.to_thread(self.claimer.next_due)
        now = self.clock()
        wait = self.config.idle_max if due is None else min(max((due - now).total_seconds(), 0.0),
                                                              self.config.idle_max)
        if wait <= 0:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), wait)
        except TimeoutError:
            pass

    # -- one pass ------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claims and handles one batch; returns how many messages it claimed."""
        token = new_id()
        claimed = await asyncio.to_thread(self.claimer.claim, token, self.clock())
        if not claimed.messages:
            return 0
        with self.stops.watching(claimed.messages):  # the holds read while sending: this batch's campaigns'
            await self._handle(token, claimed)
        return len(claimed.messages)

    async def _handle(self, token: str, claimed: Claimed) -> None:
        done: list[Settled] = []
        pending: list[asyncio.Task] = []
        by_workspace: dict[str, list[Message]] = {}
        for message in claimed.messages:
            by_workspace.setdefault(message.workspace, []).append(message)
        for workspace, batch in by_workspace.items():
            try:
                ready = await self.pacer.admit(workspace, batch, claimed.rules[workspace], done)
                # The render in the trace of the batch's first message (a launch's batch shares one).
                ready = await self._traced(batch[0], "render messages", self.renderer.render(ready, done))
            except Exception:  # noqa: BLE001 - a bug here must not strand the batch under its lease
                log.exception("preparing %d messages of workspace %s failed", len(batch), workspace)
                settled = {id(o.message) for o in done}
                done += [deferred(m, self.clock(), self.config.dependency_retry, "internal error while preparing "
                                  "the message (see the service log); retrying")
                         for m in batch if id(m) not in settled and m.state is State.SENDING]
                continue
            providers = claimed.providers[workspace]
            pending += [asyncio.create_task(self._traced(work.message, "deliver message",
                                                         self.sender.deliver(work, providers))) for work in ready]
        await self.recorder.record(token, done)
        await self._record_as_they_settle(token, pending)

    def _traced(self, message: Message, name: str, work):
        """`work` in the trace `message` was accepted in (as is when there is no tracing or no trace)."""
        if self.tracing is None or not message.trace_context:
            return work
        return self.tracing.traced(message.trace_context, name, work)

    async def _record_as_they_settle(self, token: str, pending: list[asyncio.Task]) -> None:
        """Records the sends' outcomes as they come: an outcome waits at most `flush_seconds` (or until
        `flush_every` are waiting), and at once when nothing was recorded for that long. What a crash can
        send twice is what waits here plus what is being recorded: the sends of about `flush_seconds`."""
        settled: asyncio.Queue[asyncio.Task] = asyncio.Queue()
        for task in pending:
            task.add_done_callback(settled.put_nowait)
        buffer: list[Settled] = []
        left, last = len(pending), time.monotonic() - self.config.flush_seconds
        while left:
            wait = None if not buffer else max(self.config.flush_seconds - (time.monotonic() - last), 0.0)
            try:
                async with asyncio.timeout(wait):
                    task = await settled.get()
            except TimeoutError:  # the buffer's time is up before another send settled
                task = None
            while task is not None:
                buffer.append(task.result())
                left -= 1
                task = settled.get_nowait() if not settled.empty() and len(buffer) < self.config.flush_every \
                    else None
            if buffer and (len(buffer) >= self.config.flush_every
                           or time.monotonic() - last >= self.config.flush_seconds):
                await self.recorder.record(token, buffer)
                last = time.monotonic()
        await self.recorder.record(token, buffer)


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
