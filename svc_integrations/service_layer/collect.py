"""Collecting Segment Tracking API calls: authenticate the write key, read and check the
calls, drop the ones already seen (messageId, per source, kept for a retention), upsert
profiles in audience and ingest behaviour events in analytics, then remember the calls.

A call is remembered only after audience and analytics took it: a failure answers an
error, the SDK retries, and the retry does the work again (audience's upsert merges,
analytics deduplicates by the event id derived from the messageId). Data audience or
analytics refuse (INVALID_ARGUMENT: a trait whose type changed, an event older than the
retention) is logged and the rest of the call counts: the SDKs never retry a 400."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from svc_kit.errors import InvalidArgument, Unauthenticated
from svc_kit.executor import run_blocking

from svc_integrations.domain.collect import (BehaviourEvent, ProfileChange, basic_user, behaviour_event, decode,
                                             profile_change, read_calls)
from svc_integrations.domain.sources import Source
from svc_integrations.service_layer.sources import Sources

log = logging.getLogger(__name__)

EVENTS_PER_CALL = 500  # analytics' IngestEvents limit
PROFILE_CALLS_AT_ONCE = 16
PURGE_EVERY_SECONDS = 60.0


class SeenMessages(Protocol):
    """The messageIds of calls already collected, per source."""

    def seen(self, source_id: str, message_ids: Sequence[str]) -> set[str]: ...
    def remember(self, source_id: str, message_ids: Sequence[str], now: datetime) -> None: ...
    def forget_before(self, cutoff: datetime) -> int: ...


class ProfileSink(Protocol):
    async def upsert(self, workspace: str, change: ProfileChange) -> None: ...


class EventSink(Protocol):
    async def ingest(self, workspace: str, events: Sequence[BehaviourEvent]) -> int:
        """Ingests the events; returns how many analytics refused (it logs why)."""
        ...


@dataclass(frozen=True)
class Outcome:
    calls: int
    duplicates: int
    profiles: int
    events: int


class Collector:
    def __init__(self, sources: Sources, seen: SeenMessages, profiles: ProfileSink, events: EventSink,
                 clock: Callable[[], datetime], new_id: Callable[[], str], retention: timedelta,
                 executor: Executor | None = None, monotonic: Callable[[], float] = time.monotonic):
        self.sources = sources
        self.seen = seen
        self.profiles = profiles
        self.events = events
        self.clock = clock
        self.new_id = new_id
        self.retention = retention
        self.executor = executor
        self.monotonic = monotonic
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    def authenticate(self, authorization: str, body_write_key: str) -> Source:
        """The source of the write key sent as the Basic user name, else as the body's writeKey."""
        write_key = basic_user(authorization) or body_write_key
        if not write_key:
            raise Unauthenticated("a write key is required: send it as the HTTP Basic user name "
                                  "(Authorization: Basic base64(writeKey + ':'))")
        source, reason = self.sources.check(write_key)
        if source is None:
            raise Unauthenticated(reason)
        return source

    async def collect(self, kind: str, body: bytes, authorization: str) -> Outcome:
        """One `/v1/<kind>` call (kind "batch" for `/v1/batch`)."""
        request = decode(kind, body)
        source = await run_blocking(self.executor, self.authenticate, authorization, request.write_key)
        received = self.clock()
        calls = read_calls(request, received, self.new_id)
        unique = list({call.message_id: call for call in calls}.values())
        already = await run_blocking(self.executor, self.seen.seen, source.id, [c.message_id for c in unique])
        fresh = [call for call in unique if call.message_id not in already]
        changes = [change for call in fresh if (change := profile_change(call)) is not None]
        events = [event for call in fresh if (event := behaviour_event(source.id, call)) is not None]
        await self._upsert(source.workspace, changes)
        for start in range(0, len(events), EVENTS_PER_CALL):
            await self.events.ingest(source.workspace, events[start:start + EVENTS_PER_CALL])
        if fresh:
            await run_blocking(self.executor, self.seen.remember, source.id, [c.message_id for c in fresh],
                               received)
        await self._purge_now_and_then()
        return Outcome(len(calls), len(calls) - len(fresh), len(changes), len(events))

    async def _upsert(self, workspace: str, changes: list[ProfileChange]) -> None:
        """In order for each profile; different profiles at once."""
        chains: dict[str, list[ProfileChange]] = {}
        for change in changes:
            chains.setdefault(change.profile, []).append(change)
        gate = asyncio.Semaphore(PROFILE_CALLS_AT_ONCE)

        async def chain(items: list[ProfileChange]) -> None:
            async with gate:
                for item in items:
                    try:
                        await self.profiles.upsert(workspace, item)
                    except InvalidArgument as refused:
                        # Data audience will not take (an attribute whose type changed, say): the
                        # rest of the call still counts, as analytics' refused events do.
                        log.warning("audience refused the profile change of %s in workspace %s: %s",
                                    item.profile, workspace, refused.message)

        await asyncio.gather(*(chain(items) for items in chains.values()))

    async def _purge_now_and_then(self) -> None:
        """Forgets messageIds older than the retention, at most once a minute per process."""
        now = self.monotonic()
        with self._purge_lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY_SECONDS
        forgotten = await run_blocking(self.executor, self.seen.forget_before, self.clock() - self.retention)
        if forgotten:
            log.info("forgot %d collected messageIds older than %s", forgotten, self.retention)
