"""Blocking work (SQLAlchemy, pymongo, Pillow) called from async servicers."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(executor: Executor | None, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on the executor's threads, in the caller's context, so the event loop keeps serving; inline
    when there is no executor (the embedded SQLite file, where threads only add cost)."""
    if executor is None:
        return fn(*args)
    # In the caller's context (run_in_executor does not carry it): the current span, so that what fn writes
    # (outbox entries, stored messages) carries the call's trace context, and its log lines the trace ids.
    return await asyncio.get_running_loop().run_in_executor(executor, contextvars.copy_context().run, fn, *args)
