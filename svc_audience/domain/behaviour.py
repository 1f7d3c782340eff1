"""Tracked behaviour kept on the profile: per event name, an all-time count,
the last time, and the newest RECENT_KEPT times (newest first). Keeping the
times sorted lets "at least N times in the last D days" compile to one
comparison: the N-th newest time is within D days."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from svc_audience.domain.model import Profile

EVENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_:-]{0,63}")
RECENT_KEPT = 100  # the largest `min_count` a windowed event condition can ask for
SEEN_KEPT = 200  # ids of the latest events applied, so a redelivered one counts once
MAX_EVENT_NAMES = 200


@dataclass(frozen=True)
class TrackedEvent:
    event_id: str
    workspace: str
    external_id: str
    name: str
    occurred_ms: int


def recorded(profile: Profile, event: TrackedEvent, now: datetime) -> Profile | None:
    """The profile with the event counted, or None when it changes nothing
    (already applied, or a new name beyond MAX_EVENT_NAMES)."""
    if event.event_id in profile.seen_events:
        return None
    entry = profile.behaviour.get(event.name)
    if entry is None and len(profile.behaviour) >= MAX_EVENT_NAMES:
        return None
    entry = entry or {"count": 0, "last": 0, "recent": []}
    recent = sorted([*entry["recent"], event.occurred_ms], reverse=True)[:RECENT_KEPT]
    behaviour = {**profile.behaviour, event.name: {"count": entry["count"] + 1,
                                                   "last": max(entry["last"], event.occurred_ms),
                                                   "recent": recent}}
    return replace(profile, behaviour=behaviour, seen_events=(*profile.seen_events, event.event_id)[-SEEN_KEPT:],
                   create_time=profile.create_time or now, update_time=now, version=profile.version + 1)
