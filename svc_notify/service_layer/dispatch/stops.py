"""Campaigns held or cancelled (CancelCampaignMessages, HoldCampaignMessages),
as this dispatcher knows them: read again at most every `refresh` seconds, so a
message waiting for a rate-limit token, or about to be handed over, is deferred
instead soon after its campaign stops (the claim skips such messages; this
reaches the ones a pass already holds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from svc_notify.domain.model import Message
from svc_notify.service_layer.unit_of_work import UnitOfWork

REFRESH_SECONDS = 0.25


class CampaignStops:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], refresh: float = REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic):
        self.uow = uow_factory
        self.refresh = refresh
        self.monotonic = monotonic
        self._stopped: frozenset[tuple[str, str]] = frozenset()
        self._read_at: float | None = None
        self._lock: asyncio.Lock | None = None

    def _read(self) -> frozenset[tuple[str, str]]:
        with self.uow() as uow:
            return frozenset(uow.messages.held_campaigns())

    async def stopped(self, message: Message) -> bool:
        if not message.campaign:
            return False
        if self._read_at is None or self.monotonic() - self._read_at >= self.refresh:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._read_at is None or self.monotonic() - self._read_at >= self.refresh:
                    self._stopped = await asyncio.to_thread(self._read)
                    self._read_at = self.monotonic()
        return (message.workspace, message.campaign) in self._stopped
