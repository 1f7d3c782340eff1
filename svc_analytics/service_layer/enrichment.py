"""What the writer adds to a batch of new events before storing it: the
machine flag of opens and clicks (domain/machine.py) and last-click
attribution of goal events (domain/attribution.py). Each looks at the batch
itself first (a click and the purchase it led to may arrive together) and then
at the store."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from svc_analytics.domain import attribution, machine
from svc_analytics.domain.model import DEFAULT_ATTRIBUTION_WINDOW, SENT, StoredEvent
from svc_analytics.service_layer.ports import EventQuery, EventStore


@dataclass(frozen=True)
class EnrichmentSettings:
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW
    goals: frozenset[str] = attribution.DEFAULT_GOALS
    machine_delay: timedelta = machine.DEFAULT_MACHINE_DELAY


class RecentSends:
    """When recent messages were sent, remembered from the sends the writer stored (bounded, oldest
    forgotten first): an open usually follows its send through the same writer, so most look-ups
    need no store query."""

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._times: OrderedDict[tuple[str, str], datetime] = OrderedDict()

    def remember(self, events: Sequence[StoredEvent]) -> None:
        for event in events:
            if event.type == SENT and event.message:
                key = (event.workspace, event.message)
                known = self._times.get(key)
                self._times[key] = event.event_time if known is None else min(known, event.event_time)
                self._times.move_to_end(key)
        while len(self._times) > self.capacity:
            self._times.popitem(last=False)

    def get(self, workspace: str, message: str) -> datetime | None:
        return self._times.get((workspace, message))


class _SendTimes:
    """When each message was sent: from the batch, the recent sends, else one store query per message."""

    def __init__(self, store: EventStore, batch: Sequence[StoredEvent], recent: RecentSends | None):
        self.store = store
        self.recent = recent
        self.known: dict[tuple[str, str], datetime | None] = {}
        for event in batch:
            if event.type == SENT and event.message:
                key = (event.workspace, event.message)
                if self.known.get(key) is None or event.event_time < self.known[key]:
                    self.known[key] = event.event_time

    def __call__(self, workspace: str, message: str) -> datetime | None:
        if not message:
            return None
        key = (workspace, message)
        if key not in self.known:
            sent_time = self.recent.get(workspace, message) if self.recent is not None else None
            if sent_time is None:
                sent = self.store.list(EventQuery(workspace, types=(SENT,), message=message), limit=1)
                sent_time = sent[0].event_time if sent else None
            self.known[key] = sent_time
        return self.known[key]


def flag_machines(store: EventStore, batch: Sequence[StoredEvent], delay: timedelta = machine.DEFAULT_MACHINE_DELAY,
                  recent: RecentSends | None = None) -> list[StoredEvent]:
    """A zero `delay` judges by user agent alone (no look-up of sends)."""
    sent_time = _SendTimes(store, batch, recent)
    flagged = []
    for event in batch:
        if event.type in machine.JUDGED_TYPES and not event.machine:
            # The user agent alone often settles it, sparing the look-up of the send.
            is_machine = (machine.machine_user_agent(machine.user_agent_of(event))
                          or delay > timedelta(0)
                          and machine.too_soon(event.event_time, sent_time(event.workspace, event.message), delay))
            if is_machine:
                event = dataclasses.replace(event, machine=True)
        flagged.append(event)
    return flagged


def attribute_goals(store: EventStore, batch: Sequence[StoredEvent], window: timedelta,
                    goals: frozenset[str] = attribution.DEFAULT_GOALS) -> list[StoredEvent]:
    out = []
    for event in batch:
        if attribution.wants_attribution(event, goals):
            in_batch = [c for c in batch if attribution.is_attributable_click(c, event, window)]
            stored = store.last_click(event.workspace, event.profile, event.event_time, window)
            event = attribution.attribute(event, attribution.last_click([stored, *in_batch]))
        out.append(event)
    return out


def enrich(store: EventStore, batch: Sequence[StoredEvent], settings: EnrichmentSettings,
           recent: RecentSends | None = None) -> list[StoredEvent]:
    """Machine flags first: attribution credits human clicks only."""
    flagged = flag_machines(store, batch, settings.machine_delay, recent)
    return attribute_goals(store, flagged, settings.attribution_window, settings.goals)
