"""Use cases of API keys: create (shown once), list, get, revoke, and the check the
edge asks for on every call that carries a key (ext_authz), served from an
in-process cache so that it costs no database round trip."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from svc_kit.errors import NotFound
from svc_kit.names import name_field, parent_field

from svc_integrations.domain.api_keys import ApiKey, new_key, parse_key

# last_used_time is written at most this often per key, so a busy key costs no write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyStore(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def get(self, key_id: str) -> ApiKey | None: ...
    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[ApiKey]: ...
    def revoke(self, key_id: str, now: datetime) -> ApiKey | None: ...
    def touch(self, key_id: str, now: datetime) -> None: ...


@dataclass(frozen=True)
class Verdict:
    """The outcome of a key check: the key, or why it was refused."""

    key: ApiKey | None
    reason: str = ""


class ApiKeys:
    def __init__(self, store: KeyStore, clock: Callable[[], datetime], cache_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.clock = clock
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        # id -> (key or None when unknown, when cached); revocations here drop the entry at once.
        self._cache: dict[str, tuple[ApiKey | None, float]] = {}
        self._used: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def create(self, parent: str, role: str, display_name: str) -> tuple[ApiKey, str]:
        workspace = parent_field(parent)
        key, plain = new_key(workspace, role, display_name, self.clock())
        self.store.add(key)
        return key, plain

    def get(self, name: str) -> ApiKey:
        workspace, key_id = name_field(name, "apiKeys")
        key = self.store.get(key_id)
        if key is None or key.workspace != workspace:
            raise NotFound(name)
        return key

    def list(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[ApiKey]:
        return self.store.list(parent_field(parent), after, limit)

    def revoke(self, name: str) -> ApiKey:
        key = self.get(name)
        revoked = self.store.revoke(key.id, self.clock()) or key
        with self._lock:
            self._cache.pop(key.id, None)
        return revoked

    def check(self, presented: str) -> Verdict:
        """The key `mk_...` stands for, if it is known, matches and is not revoked."""
        parsed = parse_key(presented)
        if parsed is None:
            return Verdict(None, "the API key is malformed")
        key_id, secret = parsed
        now = self.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is None or now - cached[1] > self.cache_seconds:
            key = self.store.get(key_id)
            with self._lock:
                self._cache[key_id] = (key, now)
        else:
            key = cached[0]
        if key is None or not key.matches(secret):
            return Verdict(None, "the API key is unknown")
        if key.revoked:
            return Verdict(None, "the API key was revoked")
        self._note_use(key)
        return Verdict(key)

    def _note_use(self, key: ApiKey) -> None:
        now = self.clock()
        last = self._used.get(key.id) or key.last_used_time
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self._used[key.id] = now
            self.store.touch(key.id, now)
