"""The ports the journey use cases talk to: the store (one transaction), the
notify service's send, the audience service's profiles and the integrations
service's webhook deliveries."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from svc_campaign.domain.journey import Definition, Entry, Journey, PastEntry, TrailItem


@dataclass(frozen=True)
class Trail:
    """A trail row: what happened to an entry (or a refused entry: entry_id empty)."""
    workspace: str
    journey_id: str
    version: int
    entry_id: str
    profile: str
    time: datetime
    item: TrailItem


@dataclass(frozen=True)
class DateTimer:
    """A date-triggered journey's timer for one profile: due when its date next comes round; `handled_until`:
    the occurrence it last fired (None: none yet)."""
    profile: str
    due_time: datetime
    handled_until: datetime | None = None


@dataclass(frozen=True)
class StepFigures:
    step: str
    entered: int = 0
    waiting: int = 0
    left_by_branch: tuple[tuple[str, int], ...] = ()
    sent: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Figures:
    entered: int
    refused: int
    active: int
    goal: int
    exited: int
    steps: tuple[StepFigures, ...]


@dataclass(frozen=True)
class ExplainedEntry:
    journey_id: str
    version: int
    entry: Entry | None  # None: refused
    refusal: str
    time: datetime
    path: tuple[tuple[datetime, TrailItem], ...]


class JourneyStore(Protocol):
    # journeys
    def add_journey(self, journey: Journey) -> None: ...
    def get_journey(self, workspace: str, journey_id: str) -> Journey | None: ...
    def list_journeys(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Journey]: ...
    def save_journey(self, journey: Journey, expected_revision: int) -> None: ...
    def delete_journey(self, workspace: str, journey_id: str) -> None: ...
    def add_version(self, journey: Journey, version: int, definition: Definition, now: datetime) -> None: ...
    def has_active_entries(self, workspace: str, journey_id: str) -> bool: ...
    # runtime
    def live_versions(self, workspace: str, trigger_kind: str, trigger_key: str) -> list[tuple[str, int, Definition]]:
        ...
    def active_entries(self, workspace: str, profile: str) -> list[tuple[Entry, Definition]]: ...
    def lock_profile(self, workspace: str, journey_id: str, profile: str) -> None:
        """Serialises entry decisions for one journey and profile across replicas (until commit)."""
    def past_entries(self, workspace: str, journey_id: str, profile: str) -> list[PastEntry]: ...
    def has_entry(self, workspace: str, journey_id: str, version: int, profile: str, trigger_event: str) -> bool:
        ...
    def add_entry(self, entry: Entry, trigger_event: str) -> bool: ...
    def save_entry(self, entry: Entry, expected_revision: int) -> bool: ...
    def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[tuple[Entry, Definition]]: ...
    def next_due_time(self) -> datetime | None: ...
    def memberships(self, workspace: str, profiles: list[str]) -> dict[str, frozenset[str]]:
        """Segment ids each profile is in, from the local copy of segment membership."""
    def add_trail(self, rows: list[Trail]) -> None: ...
    # date attribute triggers
    def date_journeys_to_seed(self, refreshed_before: datetime) -> list[tuple[str, str, int, Definition]]: ...
    def date_timers(self, workspace: str, journey_id: str, profiles: list[str]) -> dict[str, datetime | None]: ...
    def put_date_timers(self, workspace: str, journey_id: str, timers: list[DateTimer], seed_round: str) -> None:
        ...
    def end_date_seed(self, workspace: str, journey_id: str, version: int, seed_round: str, now: datetime) -> None:
        ...
    def forget_date_seed(self, workspace: str, journey_id: str) -> None: ...
    def drop_date_timers(self, workspace: str, journey_id: str, profile: str | None = None) -> None: ...
    def claim_date_timers(self, now: datetime, limit: int, lease_until: datetime) -> list[tuple[str, str, DateTimer]]:
        ...
    def set_date_timer(self, workspace: str, journey_id: str, timer: DateTimer) -> None: ...
    def journey_version(self, workspace: str, journey_id: str) -> tuple[str, int, Definition] | None: ...
    def entry_of_send(self, workspace: str, entry_id: str) -> tuple[Entry, Definition] | None: ...
    # reads
    def figures(self, workspace: str, journey_id: str) -> Figures: ...
    def explain(self, workspace: str, profile: str) -> list[ExplainedEntry]: ...


Transaction = Callable[[], AbstractContextManager[JourneyStore]]


@dataclass(frozen=True)
class JourneySend:
    profile: str  # workspaces/{w}/profiles/{p}
    channel: str
    template: str
    idempotency_key: str
    journey: str  # workspaces/{w}/journeys/{j}, as a label


class JourneyNotifyPort(Protocol):
    async def send_journey_messages(self, workspace: str, sends: list[JourneySend]) -> list[str]:
        """One result per send: "" when notify took it (or had it already), else why it refused it.
        PeerUnavailable when notify cannot answer (the pass is tried again)."""


class JourneyAudiencePort(Protocol):
    async def set_attribute(self, workspace: str, profile: str, attribute: str, value: str) -> None:
        """Sets one text attribute of the profile (merging). PeerRefused / PeerUnavailable as for sends."""

    async def time_zones(self, workspace: str, profiles: list[str]) -> dict[str, str]:
        """Profile id -> its IANA time zone ("" or absent: none). PeerUnavailable when audience cannot answer."""

    async def change_members(self, segment: str, profiles: list[str], add: bool) -> list[str]:
        """Adds the profiles (ids) to the static segment `workspaces/{w}/segments/{id}`, or removes them;
        idempotent. Returns the profiles audience does not know. PeerRefused when the segment is gone or not
        static; PeerUnavailable when audience cannot answer."""

    async def attributes(self, workspace: str, profiles: list[str]) -> dict[str, dict[str, str]]:
        """Profile id -> its attributes as text (numbers as written, booleans `true`/`false`, times RFC 3339,
        lists joined by commas); a profile audience does not know is absent. PeerUnavailable when audience
        cannot answer."""


    async def date_values(self, workspace: str, attribute: str, page_token: str
                          ) -> tuple[list[tuple[str, str, str]], str]:
        """One page of the workspace's profiles that have `attribute`: (profile id, its value as text, its time
        zone or ""), and the next page's token ("" on the last). PeerUnavailable / PeerRefused as above."""

    async def dates(self, workspace: str, profiles: list[str], attribute: str) -> dict[str, tuple[str, str]]:
        """Profile id -> (the attribute's value as text, its time zone or ""), for the profiles that have it.
        PeerUnavailable when audience cannot answer."""


class JourneyIntegrationsPort(Protocol):
    async def deliver_webhook_event(self, webhook: str, data: dict, idempotency_key: str) -> None:
        """Asks the integrations service to deliver one `journey.step` event with `data` to `webhook`
        (`workspaces/{w}/webhooks/{id}`) through its delivery pipeline; the same key again changes nothing.
        PeerRefused when the webhook is gone or disabled (the reason for people); PeerUnavailable when
        integrations cannot answer (the pass is tried again)."""
