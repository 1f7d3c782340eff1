"""The unit of work a handler runs in (one transaction) and the repositories it
holds. The repository appends the changed campaigns' events to their stream; at
commit the unit of work hands the same events to the outbox in that transaction.
svc_campaign.adapters.sql_unit_of_work implements them over SQLAlchemy."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from svc_kit.errors import Aborted

from svc_campaign.domain.delivery import Tally
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.launch import Launch
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.queries import CampaignFilter

Cursor = tuple[datetime, str]  # (create_time, id) of the last campaign served


class CampaignRepository(abc.ABC):
    """Implementations append every campaign they add, save or remove to `seen`,
    so the unit of work can move the events those campaigns recorded to the outbox."""

    def __init__(self) -> None:
        self.seen: list[Campaign] = []

    @abc.abstractmethod
    def add(self, campaign: Campaign, request_id: str = "", request_fingerprint: str = "") -> None:
        """Stores a new campaign; AlreadyExists if its id or request id is taken."""

    @abc.abstractmethod
    def get(self, workspace: str, campaign_id: str) -> Campaign | None: ...

    @abc.abstractmethod
    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Campaign, str] | None:
        """The campaign a create with this idempotency key made, and that request's fingerprint."""

    @abc.abstractmethod
    def save(self, campaign: Campaign, expected_version: int) -> None:
        """Writes a changed campaign and appends its new events to its history;
        Aborted if someone else changed it since `expected_version`."""

    @abc.abstractmethod
    def remove(self, campaign: Campaign, expected_version: int) -> None:
        """Deletes a campaign from the current view (its history, ending in
        campaign_deleted, stays); Aborted if someone else changed it meanwhile."""

    @abc.abstractmethod
    def history(self, workspace: str, campaign_id: str, until: datetime | None = None,
                after_version: int = 0, limit: int | None = None) -> list[CampaignEvent]:
        """The campaign's events in version order: those after `after_version`,
        that occurred at or before `until`, at most `limit` of them."""

    @abc.abstractmethod
    def list(self, workspace: str, where: CampaignFilter, after: Cursor | None, limit: int) -> list[Campaign]:
        """Campaigns in (create_time, id) order, strictly after the cursor."""

    @abc.abstractmethod
    def count(self, workspace: str, where: CampaignFilter) -> int: ...

    @abc.abstractmethod
    def claim_due(self, now: datetime, limit: int) -> list[Campaign]:
        """Campaigns whose next run is due at or before `now` (scheduled ones at their start time, running
        recurring ones at their next occurrence), earliest first, in every workspace.
        On PostgreSQL the rows stay locked for this transaction and rows another transaction holds are
        skipped, so replicas never claim one campaign together."""

    @abc.abstractmethod
    def next_due_time(self) -> datetime | None:
        """The earliest time a run is due, in every workspace."""


def concurrent_change(campaign: Campaign) -> Aborted:
    return Aborted(f"workspaces/{campaign.workspace}/campaigns/{campaign.id} was changed by another request; "
                   "read it again and retry")


class LaunchRepository(Protocol):
    """One launch per run of a campaign (a recurring campaign has one per occurrence)."""

    def get(self, workspace: str, campaign_id: str, run: int | None = None) -> Launch | None:
        """The launch of `run`, or of the newest run."""

    def list(self, workspace: str, campaign_id: str, before_run: int | None, limit: int) -> list[Launch]:
        """Newest run first, the runs before `before_run` (all when None)."""

    def live(self, workspace: str, campaign_id: str) -> list[Launch]:
        """Launches still sending, undoing, or with a call to the notify service pending; newest first."""

    def handed_over(self, workspace: str, campaign_id: str) -> int:
        """Messages every run handed to the notify service (sent plus duplicates)."""

    def add(self, launch: Launch) -> bool:
        """False when the campaign has a launch for that run already (a start seen twice)."""

    def save(self, launch: Launch) -> Launch:
        """Writes a changed launch read at `launch.version`; Aborted if it moved meanwhile."""


@dataclass(frozen=True)
class CachedSegment:
    """One target segment as the local copy of its membership knows it."""

    segment_id: str
    state: str  # CURRENT, DELETED, or UNKNOWN when no event has arrived
    size: int
    event_time: datetime | None
    update_time: datetime | None


class SegmentCopy(Protocol):
    """The reads on the local copy of target segments' membership."""

    def segments(self, workspace: str, segment_ids: list[str]) -> list[CachedSegment]: ...

    def size(self, workspace: str, segment_ids: list[str]) -> int: ...

    def members(self, workspace: str, segment_ids: list[str], after: str, limit: int) -> list[str]: ...


class DeliveryTally(Protocol):
    """What notify's delivery events told about campaigns' messages and spend, and the pauses the
    service made itself (adapters/delivery_tally.py)."""

    def tally(self, workspace: str, campaign_id: str) -> Tally: ...

    def live_campaigns(self, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
        """(workspace, id) of RUNNING and PAUSED campaigns in every workspace, in that order, after `after`."""

    def pause_reason(self, workspace: str, campaign_id: str) -> tuple[str, datetime] | None:
        """The reason of the pause the service made itself, and that pause's time."""

    def set_pause_reason(self, workspace: str, campaign_id: str, reason: str, pause_time: datetime) -> None: ...

    def clear_pause_reason(self, workspace: str, campaign_id: str) -> None: ...


class UnitOfWork(abc.ABC):
    campaigns: CampaignRepository
    audiences: SegmentCopy
    launches: LaunchRepository
    deliveries: DeliveryTally

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    def commit(self) -> None:
        changed = list({id(c): c for c in self.campaigns.seen}.values())  # a campaign may be stored twice
        events = [event for campaign in changed for event in campaign.events]
        for campaign in changed:
            campaign.events.clear()
        self._commit(events)

    @abc.abstractmethod
    def _commit(self, events: list[CampaignEvent]) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
