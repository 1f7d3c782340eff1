"""Last-click attribution: a goal event (default `purchase`) is credited to the
campaign message its profile last clicked, by a person, within the attribution
window before it. An event that already names a campaign keeps it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from svc_analytics.domain.model import CLICKED, DEFAULT_GOAL, StoredEvent

DEFAULT_GOALS = frozenset({DEFAULT_GOAL})


def wants_attribution(event: StoredEvent, goals: frozenset[str] = DEFAULT_GOALS) -> bool:
    return event.type in goals and bool(event.profile) and not event.campaign


def is_attributable_click(click: StoredEvent, goal: StoredEvent, window: timedelta) -> bool:
    return (click.type == CLICKED and not click.machine and bool(click.campaign)
            and click.workspace == goal.workspace and click.profile == goal.profile
            and goal.event_time - window <= click.event_time <= goal.event_time)


def last_click(candidates: Iterable[StoredEvent | None]) -> StoredEvent | None:
    """The newest of the clicks (ties broken by event id, as the store orders them)."""
    clicks = [c for c in candidates if c is not None]
    return max(clicks, key=lambda c: (c.event_time, c.event_id), default=None)


def attribute(goal: StoredEvent, click: StoredEvent | None) -> StoredEvent:
    """The goal event credited to `click` (unchanged without one: unattributed)."""
    if click is None:
        return goal
    return dataclasses.replace(goal, campaign=click.campaign, message=click.message, channel=click.channel,
                               variant=click.variant, attributed=True)
