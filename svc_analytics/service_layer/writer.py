"""The batching writer: every event reaches the store through it, once.

Bus consumers `enqueue` events; they are written in batches of up to
`max_batch` events, or after `max_delay` seconds, whichever comes first (a
background thread started by `start()` keeps the time; `flush()` writes at
once, for tests and shutdown). `enqueue` answers a Future of the call's
WriteOutcome, so a consumer can acknowledge its messages once they are stored.

`write(events, tracked=...)` stores its events synchronously, together with
whatever was queued, so both paths share one dedupe, and answers how many were
new and how many duplicates. IngestEvents writes with tracked=True: its new
(behaviour) events are published as `event_tracked` (TrackedEvents) after the
insert. A bus consumer that acknowledges inside its inbox transaction may
write synchronously too, with tracked=False.

Dedupe per batch: ids already stored (one existing_ids query per workspace)
and repeats within the batch are dropped; writes are serialised by a lock, so
within one process no id is inserted twice. Across processes a race can still
store an id twice; reports count distinct ids, so it counts once."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from svc_analytics.domain.model import StoredEvent
from svc_analytics.service_layer.enrichment import EnrichmentSettings, RecentSends, enrich
from svc_analytics.service_layer.ports import EventStore, TrackedEvents

DEFAULT_MAX_BATCH = 5000
DEFAULT_MAX_DELAY = 0.5  # seconds


@dataclass(frozen=True)
class WriteOutcome:
    new: int
    duplicates: int
    stored: list[StoredEvent] = field(default_factory=list)  # the new events as stored (flagged, attributed)


@dataclass
class _Call:
    events: Sequence[StoredEvent]
    future: Future | None  # None for `write`, which answers directly
    tracked: bool  # publish its new events as event_tracked


class EventWriter:
    def __init__(self, store: EventStore, tracked: TrackedEvents | None = None,
                 settings: EnrichmentSettings = EnrichmentSettings(), max_batch: int = DEFAULT_MAX_BATCH,
                 max_delay: float = DEFAULT_MAX_DELAY):
        self.store = store
        self.tracked = tracked
        self.settings = settings
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._pending: list[_Call] = []
        self._pending_events = 0
        self._oldest = 0.0  # monotonic time the oldest pending call was queued
        self._cond = threading.Condition()
        # Reentrant: a Future's done-callback runs in the writing thread and may enqueue (and flush) again.
        self._write_lock = threading.RLock()
        self._stop = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._recent_sends = RecentSends()

    # -- the two ways in ----------------------------------------------------------------------------------

    def write(self, events: Sequence[StoredEvent], tracked: bool = True) -> WriteOutcome:
        """Stores the events now (with anything queued) and says how many were new."""
        own = _Call(events, None, tracked)
        with self._write_lock:
            calls = self._take() + [own]
            outcomes = self._write_batch(calls)
        return outcomes[-1]

    def preview(self, events: Sequence[StoredEvent]) -> WriteOutcome:
        """How many of the events `write` would store and how many it would skip, storing nothing."""
        fresh = self._fresh([events])[0]
        return WriteOutcome(len(fresh), len(events) - len(fresh))

    def enqueue(self, events: Sequence[StoredEvent]) -> Future:
        """Queues the events; the Future resolves to their WriteOutcome once stored (or to the error)."""
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the event writer is closed")
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(_Call(events, future, tracked=False))
            self._pending_events += len(events)
            full = self._pending_events >= self.max_batch
            self._cond.notify_all()
        if full:
            self.flush()
        return future

    def flush(self) -> WriteOutcome:
        """Writes everything queued now; the outcome sums the calls written."""
        with self._write_lock:
            calls = self._take()
            outcomes = self._write_batch(calls) if calls else []
        return WriteOutcome(sum(o.new for o in outcomes), sum(o.duplicates for o in outcomes),
                            [e for o in outcomes for e in o.stored])

    # -- the timer ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the thread that writes queued events at most `max_delay` after they were queued."""
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="analytics-writer", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stops the timer and writes what is still queued."""
        with self._cond:
            self._stop = self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._pending
                                          or time.monotonic() < self._oldest + self.max_delay):
                    wait = self._oldest + self.max_delay - time.monotonic() if self._pending else None
                    self._cond.wait(wait)
                if self._stop:
                    return
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the error went to the calls' futures; keep the timer alive
                pass

    # -- one batch ----------------------------------------------------------------------------------------

    def _take(self) -> list[_Call]:
        with self._cond:
            calls, self._pending, self._pending_events = self._pending, [], 0
            return calls

    def _write_batch(self, calls: list[_Call]) -> list[WriteOutcome]:
        try:
            outcomes = self._store(calls)
        except BaseException as error:
            for call in calls:
                if call.future is not None:
                    call.future.set_exception(error)
            raise
        for call, outcome in zip(calls, outcomes, strict=True):
            if call.future is not None:
                call.future.set_result(outcome)
        return outcomes

    def _fresh(self, batches: list[Sequence[StoredEvent]]) -> list[list[StoredEvent]]:
        """Each batch's events whose id is neither stored nor seen earlier in the batches."""
        by_workspace: dict[str, set[str]] = defaultdict(set)
        for events in batches:
            for event in events:
                by_workspace[event.workspace].add(event.event_id)
        seen = {(workspace, event_id) for workspace, ids in by_workspace.items()
                for event_id in self.store.existing_ids(workspace, sorted(ids))}
        fresh: list[list[StoredEvent]] = []
        for events in batches:
            mine = []
            for event in events:
                key = (event.workspace, event.event_id)
                if key not in seen:
                    seen.add(key)
                    mine.append(event)
            fresh.append(mine)
        return fresh

    def _store(self, calls: list[_Call]) -> list[WriteOutcome]:
        fresh = self._fresh([call.events for call in calls])
        batch = enrich(self.store, [e for mine in fresh for e in mine], self.settings, self._recent_sends)
        if batch:
            self.store.insert(batch)
            self._recent_sends.remember(batch)
        outcomes, at = [], 0
        for call, mine in zip(calls, fresh, strict=True):
            stored = batch[at:at + len(mine)]
            at += len(mine)
            outcomes.append(WriteOutcome(len(stored), len(call.events) - len(stored), stored))
        tracked = [e for call, outcome in zip(calls, outcomes, strict=True) if call.tracked for e in outcome.stored]
        if tracked and self.tracked is not None:
            self.tracked.publish(tracked)
        return outcomes
