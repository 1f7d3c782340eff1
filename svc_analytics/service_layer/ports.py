"""What the analytics service needs from outside, one Protocol each. The columnar
event store is implemented twice in svc_analytics.adapters (a ClickHouse server
through clickhouse-driver; chdb in-process for `make run`), both proven by one
contract suite (tests/contract/test_analytics_store.py); unit tests use
tests/fakes_analytics.py. Calls are blocking: the servicer runs them on its executor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from svc_kit.channels import Channel

from svc_analytics.domain.model import AggregateRow, MetricRow, StoredEvent

GRANULARITIES = ("HOUR", "DAY", "WEEK", "MONTH", "TOTAL")
DIMENSIONS = ("type", "campaign", "channel", "variant")


@dataclass(frozen=True)
class EventQuery:
    """Filters shared by listing and aggregating; empty means "any"."""

    workspace: str
    start: datetime | None = None  # event_time >= start
    end: datetime | None = None  # event_time < end
    types: tuple[str, ...] = ()
    profile: str = ""
    campaign: str = ""
    channel: Channel | None = None
    variant: str = ""
    message: str = ""


class EventStore(Protocol):
    def migrate(self) -> None:
        """Creates or upgrades the tables and materialised views (versioned; safe to call at every start)."""

    def insert(self, events: Sequence[StoredEvent]) -> None:
        """Writes a batch. Callers drop ids already stored (existing_ids) first; counts stay right
        even if a duplicate slips through (reports count distinct event ids)."""

    def existing_ids(self, workspace: str, event_ids: Sequence[str]) -> set[str]: ...

    def get(self, workspace: str, event_id: str) -> StoredEvent | None: ...

    def list(self, query: EventQuery, limit: int, after: tuple[datetime, str] | None = None) -> list[StoredEvent]:
        """Newest first by (event_time, event_id); `after` is the last (event_time, event_id) of the previous page."""

    def campaign_metrics(self, workspace: str, campaign: str, start: datetime | None,
                         end: datetime | None) -> list[MetricRow]:
        """Per (type, channel, variant, provider), from the materialised aggregates."""

    def last_click(self, workspace: str, profile: str, before: datetime, window: timedelta) -> StoredEvent | None:
        """The profile's newest human campaign click in [before - window, before], for attribution."""

    def aggregate(self, query: EventQuery, granularity: str, group_by: Sequence[str], time_zone: str,
                  limit: int, offset: int) -> list[AggregateRow]: ...

    def funnel(self, query: EventQuery, steps: Sequence[str], window: timedelta) -> list[int]:
        """Profiles that reached each step in order, each step within `window` of the first."""

    def erase_profile(self, workspace: str, profile: str) -> None:
        """Asks the store to delete the profile's events (asynchronous on ClickHouse 18.16)."""

    def profile_event_count(self, workspace: str, profile: str) -> int:
        """How many events of the profile are still stored (0 once an erasure has completed)."""


class TrackedEvents(Protocol):
    """Where accepted behaviour events are announced (`event_tracked`, through the outbox)."""

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Called once per write, after the events were stored, with the new ones only."""
