"""Blocking work (SQLAlchemy, pymongo, Pillow) called from async servicers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(executor: Executor | None, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on the executor's threads, so the event loop keeps serving; inline
    when there is no executor (the embedded SQLite file, where threads only add cost)."""
    if executor is None:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
