"""Use cases of sources: create (the write key shown once), list, get, revoke, and the
write-key check every collected call makes, served from an in-process cache so that it
costs no database round trip."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from svc_kit.errors import NotFound
from svc_kit.names import name_field, parent_field

from svc_integrations.domain.sources import Source, new_source, parse_write_key

LAST_USED_RESOLUTION = timedelta(minutes=1)


class SourceStore(Protocol):
    def add(self, source: Source) -> None: ...
    def get(self, source_id: str) -> Source | None: ...
    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Source]: ...
    def revoke(self, source_id: str, now: datetime) -> Source | None: ...
    def touch(self, source_id: str, now: datetime) -> None: ...


class Sources:
    def __init__(self, store: SourceStore, clock: Callable[[], datetime], cache_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.clock = clock
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._cache: dict[str, tuple[Source | None, float]] = {}
        self._used: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def create(self, parent: str, display_name: str) -> tuple[Source, str]:
        source, plain = new_source(parent_field(parent), display_name, self.clock())
        self.store.add(source)
        return source, plain

    def get(self, name: str) -> Source:
        workspace, source_id = name_field(name, "sources")
        source = self.store.get(source_id)
        if source is None or source.workspace != workspace:
            raise NotFound(name)
        return source

    def list(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[Source]:
        return self.store.list(parent_field(parent), after, limit)

    def revoke(self, name: str) -> Source:
        source = self.get(name)
        revoked = self.store.revoke(source.id, self.clock()) or source
        with self._lock:
            self._cache.pop(source.id, None)
        return revoked

    def check(self, write_key: str) -> tuple[Source | None, str]:
        """The source a write key stands for, or None and why it is refused."""
        parsed = parse_write_key(write_key.strip())
        if parsed is None:
            return None, "the write key is missing or malformed"
        source_id, secret = parsed
        now = self.monotonic()
        with self._lock:
            cached = self._cache.get(source_id)
        if cached is None or now - cached[1] > self.cache_seconds:
            source = self.store.get(source_id)
            with self._lock:
                self._cache[source_id] = (source, now)
        else:
            source = cached[0]
        if source is None or not source.matches(secret):
            return None, "the write key is unknown"
        if source.revoked:
            return None, "the write key was revoked"
        self._note_use(source)
        return source, ""

    def _note_use(self, source: Source) -> None:
        now = self.clock()
        last = self._used.get(source.id) or source.last_used_time
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self._used[source.id] = now
            self.store.touch(source.id, now)
