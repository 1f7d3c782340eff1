"""Time source, injected so tests can hold the clock still."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def utcnow_ms() -> datetime:
    """Now, to the millisecond: what BSON dates keep, so a stored time reads back equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
