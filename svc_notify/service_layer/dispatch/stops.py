"""Campaigns held or cancelled (CancelCampaignMessages, HoldCampaignMessages),
as this dispatcher knows them: read again at most every `refresh` seconds, so a
message waiting for a rate-limit token, or about to be handed over, is deferred
instead soon after its campaign stops (the claim skips such messages; this
reaches the ones a pass already holds).

Only the holds of the campaigns in the batches this dispatcher has claimed and
not yet recorded are read (`watching`), by key: the cost of a refresh follows
the campaigns in flight, not the number of holds stored, which grows with every
campaign ever paused or cancelled. Cancelled holds are pruned once settled (no
message of the campaign waiting or being sent) and older than `retention`
(`prune_if_due`); until then a page of a launch that arrives late is still
cancelled on arrival (service_layer/messages.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from svc_notify.domain.model import Message
from svc_notify.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("svc_notify.dispatcher")
REFRESH_SECONDS = 0.25
HOLD_RETENTION = timedelta(hours=1)  # a cancelled hold outlives its campaign's last message this long
PRUNE_EVERY_SECONDS = 300.0
PRUNE_BATCH = 500

Key = tuple[str, str]  # (workspace, campaign)


class CampaignStops:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], refresh: float = REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic, retention: timedelta = HOLD_RETENTION,
                 prune_every: float = PRUNE_EVERY_SECONDS):
        self.uow = uow_factory
        self.refresh = refresh
        self.monotonic = monotonic
        self.retention = retention
        self.prune_every = prune_every
        self._watched: Counter[Key] = Counter()  # campaigns of the batches in flight (one count per batch)
        self._covered: frozenset[Key] = frozenset()  # the campaigns the last read asked about
        self._stopped: frozenset[Key] = frozenset()  # those of them held or cancelled
        self._read_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self._pruned_at: float | None = None
        self.reads = 0  # reads of the holds made, and the campaigns each asked about (tests, logs)
        self.asked: list[frozenset[Key]] = []

    @contextmanager
    def watching(self, messages: Iterable[Message]) -> Iterator[frozenset[Key]]:
        """While a claimed batch is in flight: its campaigns are among those a refresh reads."""
        keys = frozenset((m.workspace, m.campaign) for m in messages if m.campaign)
        self._watched.update(keys)
        try:
            yield keys
        finally:
            self._watched.subtract(keys)
            for key in keys:
                if self._watched[key] <= 0:
                    del self._watched[key]

    def _read(self, keys: frozenset[Key]) -> frozenset[Key]:
        self.reads += 1
        self.asked = [*self.asked[-99:], keys]
        with self.uow() as uow:
            return frozenset(uow.messages.held_campaigns(keys))

    async def stopped(self, message: Message) -> bool:
        if not message.campaign:
            return False
        key = (message.workspace, message.campaign)
        if self._due(key):
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._due(key):
                    keys = frozenset(self._watched) | {key}
                    self._stopped = await asyncio.to_thread(self._read, keys)
                    self._covered, self._read_at = keys, self.monotonic()
        return key in self._stopped

    def _due(self, key: Key) -> bool:
        return (self._read_at is None or key not in self._covered
                or self.monotonic() - self._read_at >= self.refresh)

    def prune(self, now: datetime) -> int:
        """Deletes the cancelled holds settled and older than the retention; returns how many."""
        pruned = 0
        while True:
            with self.uow() as uow:
                batch = uow.messages.prune_campaign_holds(now - self.retention, PRUNE_BATCH)
                uow.commit()
            pruned += batch
            if batch < PRUNE_BATCH:
                break
        if pruned:
            log.info("pruned %d cancelled campaign holds (settled, older than %s)", pruned, self.retention)
        return pruned

    async def prune_if_due(self, now: datetime) -> int:
        """Prunes at most every `prune_every` seconds (a failure is logged and tried again next time)."""
        if self._pruned_at is not None and self.monotonic() - self._pruned_at < self.prune_every:
            return 0
        self._pruned_at = self.monotonic()
        try:
            return await asyncio.to_thread(self.prune, now)
        except Exception:  # noqa: BLE001 - housekeeping must not stop the dispatcher
            log.exception("pruning cancelled campaign holds failed; tried again later")
            return 0
