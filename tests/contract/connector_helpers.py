"""What the connector contract tests share: a credential vault held in memory (the service's
vault stores encrypted; the connectors only see this protocol), a clock that stands still and
records the sleeps it was asked for, and a progress callback that records what it was told."""

from __future__ import annotations

import time
from collections.abc import Mapping

from svc_integrations.domain.connectors import ConnectionContext


class MemoryVault:
    def __init__(self, credentials: Mapping[str, str]):
        self.credentials = dict(credentials)
        self.replaced: list[dict[str, str]] = []

    def current(self) -> Mapping[str, str]:
        return dict(self.credentials)

    def replace(self, credentials: Mapping[str, str]) -> None:
        self.credentials = dict(credentials)
        self.replaced.append(dict(credentials))


class StillClock:
    """Time that moves only when slept through."""

    def __init__(self, start: float | None = None):
        self.time = time.time() if start is None else start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


class Recorder:
    def __init__(self, cancel_after: int | None = None):
        self.calls: list[int] = []
        self.cancel_after = cancel_after

    def __call__(self, rows_done: int) -> bool:
        self.calls.append(rows_done)
        return self.cancel_after is not None and len(self.calls) >= self.cancel_after


def context(parameters: Mapping[str, str], vault: MemoryVault) -> ConnectionContext:
    return ConnectionContext(parameters=dict(parameters), credentials=vault)


def closed_port_url() -> str:
    """A local URL nothing listens on (the port was free a moment ago)."""
    from devstack.processes import free_port

    return f"http://127.0.0.1:{free_port()}"
