"""In-memory adapters that honour the same contract as the SQL ones.

`FakeDatabase` is the shared, committed state (the "server"); each
`FakeUnitOfWork` gets its own `FakeCampaignRepository`, whose writes stay
pending until the unit of work commits, like a transaction under READ
COMMITTED: reads see the committed state plus this transaction's own writes,
and version checks compare against that."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from svc_kit.errors import AlreadyExists

from svc_campaign.domain.delivery import Tally
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Schedule, State
from svc_campaign.service_layer.unit_of_work import CampaignRepository, Cursor, UnitOfWork, concurrent_change

Key = tuple[str, str]  # (workspace, campaign id)


@dataclass(frozen=True)
class StoredCampaign:
    campaign: Campaign  # a private copy, without events
    request_id: str = ""
    request_fingerprint: str = ""


@dataclass
class FakeDatabase:
    campaigns: dict[Key, StoredCampaign] = field(default_factory=dict)
    events: list[CampaignEvent] = field(default_factory=list)  # the committed history
    outbox: list[CampaignEvent] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)  # campaign id -> delivery tally
    pause_reasons: dict[str, tuple[str, datetime]] = field(default_factory=dict)


class FakeDeliveryTally:
    """The delivery tally's reads and pause reasons over a FakeDatabase (written at once, not at commit)."""

    def __init__(self, database: FakeDatabase):
        self.database = database

    def tally(self, workspace: str, campaign_id: str) -> Tally:
        return self.database.tallies.get(campaign_id, Tally())

    def live_campaigns(self, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
        return sorted(k for k, r in self.database.campaigns.items()
                      if r.campaign.state in (State.RUNNING, State.PAUSED) and (after is None or k > after))[:limit]

    def pause_reason(self, workspace: str, campaign_id: str) -> tuple[str, datetime] | None:
        return self.database.pause_reasons.get(campaign_id)

    def set_pause_reason(self, workspace: str, campaign_id: str, reason: str, pause_time: datetime) -> None:
        self.database.pause_reasons[campaign_id] = (reason, pause_time)

    def clear_pause_reason(self, workspace: str, campaign_id: str) -> None:
        self.database.pause_reasons.pop(campaign_id, None)


def _copy(campaign: Campaign) -> Campaign:
    stored = copy.deepcopy(campaign)
    stored.events = []
    return stored


class FakeCampaignRepository(CampaignRepository):
    def __init__(self, database: FakeDatabase):
        super().__init__()
        self.database = database
        self.pending: dict[Key, StoredCampaign | None] = {}  # None: removed in this transaction
        self.pending_events: list[CampaignEvent] = []

    # -- the transaction, driven by FakeUnitOfWork ----------------------------------------------------

    def apply_pending(self) -> None:
        for key, stored in self.pending.items():
            if stored is None:
                self.database.campaigns.pop(key, None)
            else:
                self.database.campaigns[key] = stored
        self.database.events.extend(self.pending_events)
        self.pending.clear()
        self.pending_events.clear()

    def discard_pending(self) -> None:
        self.pending.clear()
        self.pending_events.clear()

    def _new_events(self, campaign: Campaign) -> list[CampaignEvent]:
        """The campaign's events not yet in the stream; Aborted if one takes a version already there
        (the unique (workspace, campaign_id, version) index of campaign_events)."""
        stream = self.database.events + self.pending_events
        known = {e.event_id for e in stream}
        taken = {(e.workspace, e.campaign_id, e.version) for e in stream}
        new = [e for e in campaign.events if e.event_id not in known]
        if any((e.workspace, e.campaign_id, e.version) in taken for e in new):
            raise concurrent_change(campaign)
        return new

    def _append(self, new: list[CampaignEvent], campaign: Campaign) -> None:
        self.pending_events.extend(new)
        self.seen.append(campaign)

    def _has_history(self, key: Key) -> bool:
        return any((e.workspace, e.campaign_id) == key for e in self.database.events + self.pending_events)

    # -- the port -------------------------------------------------------------------------------------

    def _visible(self) -> dict[Key, StoredCampaign]:
        rows = dict(self.database.campaigns)
        for key, stored in self.pending.items():
            if stored is None:
                rows.pop(key, None)
            else:
                rows[key] = stored
        return rows

    def add(self, campaign: Campaign, request_id: str = "", request_fingerprint: str = "") -> None:
        rows = self._visible()
        key = (campaign.workspace, campaign.id)
        taken_request = request_id and any(
            k[0] == campaign.workspace and row.request_id == request_id for k, row in rows.items())
        if key in rows or taken_request or self._has_history(key):  # a deleted campaign keeps its id
            raise AlreadyExists(f"workspaces/{campaign.workspace}/campaigns/{campaign.id} already exists")
        new = self._new_events(campaign)
        self.pending[key] = StoredCampaign(_copy(campaign), request_id, request_fingerprint)
        self._append(new, campaign)

    def get(self, workspace: str, campaign_id: str) -> Campaign | None:
        stored = self._visible().get((workspace, campaign_id))
        return _copy(stored.campaign) if stored else None

    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Campaign, str] | None:
        for (ws, _), stored in self._visible().items():
            if ws == workspace and request_id and stored.request_id == request_id:
                return _copy(stored.campaign), stored.request_fingerprint
        return None

    def save(self, campaign: Campaign, expected_version: int) -> None:
        key = (campaign.workspace, campaign.id)
        stored = self._visible().get(key)
        if stored is None or stored.campaign.version != expected_version:
            raise concurrent_change(campaign)
        new = self._new_events(campaign)
        self.pending[key] = StoredCampaign(_copy(campaign), stored.request_id, stored.request_fingerprint)
        self._append(new, campaign)

    def remove(self, campaign: Campaign, expected_version: int) -> None:
        key = (campaign.workspace, campaign.id)
        stored = self._visible().get(key)
        if stored is None or stored.campaign.version != expected_version:
            raise concurrent_change(campaign)
        new = self._new_events(campaign)
        self.pending[key] = None
        self._append(new, campaign)

    def history(self, workspace: str, campaign_id: str, until: datetime | None = None,
                after_version: int = 0, limit: int | None = None) -> list[CampaignEvent]:
        found = sorted((e for e in self.database.events + self.pending_events
                        if (e.workspace, e.campaign_id) == (workspace, campaign_id) and e.version > after_version
                        and (until is None or e.occurred_at <= until)), key=lambda e: e.version)
        return found[:limit] if limit is not None else found

    def _matching(self, workspace: str, where: CampaignFilter) -> list[Campaign]:
        return [row.campaign for (ws, _), row in self._visible().items()
                if ws == workspace and where.matches(row.campaign)]

    def list(self, workspace: str, where: CampaignFilter, after: Cursor | None, limit: int) -> list[Campaign]:
        found = sorted(self._matching(workspace, where), key=lambda c: (c.create_time, c.id))
        if after is not None:
            found = [c for c in found if (c.create_time, c.id) > after]
        return [_copy(c) for c in found[:limit]]

    def count(self, workspace: str, where: CampaignFilter) -> int:
        return len(self._matching(workspace, where))

    def claim_due(self, now: datetime, limit: int) -> list[Campaign]:
        due = sorted((row.campaign for row in self._visible().values()
                      if row.campaign.due_time is not None and row.campaign.due_time <= now),
                     key=lambda c: c.due_time)
        return [_copy(c) for c in due[:limit]]

    def next_due_time(self) -> datetime | None:
        return min((row.campaign.due_time for row in self._visible().values()
                    if row.campaign.due_time is not None), default=None)


class FakeUnitOfWork(UnitOfWork):
    """A unit of work over a FakeDatabase (a new one unless given, so several can share one)."""

    def __init__(self, database: FakeDatabase | None = None):
        self.database = database if database is not None else FakeDatabase()
        self.campaigns = FakeCampaignRepository(self.database)
        self.deliveries = FakeDeliveryTally(self.database)
        self.committed_events: list[CampaignEvent] = []
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        self.campaigns = FakeCampaignRepository(self.database)
        return self

    def _commit(self, events: list[CampaignEvent]) -> None:
        self.campaigns.apply_pending()
        self.database.outbox.extend(events)
        self.committed_events.extend(events)
        self.commits += 1

    def rollback(self) -> None:
        self.campaigns.discard_pending()


# -- sample data ------------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ready_fields(workspace: str = "acme", start: datetime | None = None, **changes) -> CampaignFields:
    """Campaign fields that pass every launch-readiness check (start in the future of NOW)."""
    start = start or NOW + timedelta(days=1)
    base = CampaignFields(
        display_name="Spring sale",
        description="Twenty percent off everything",
        channels=(Channel.EMAIL, Channel.SMS),
        schedule=Schedule(start, start + timedelta(days=7), "Europe/Paris"),
        budget=Budget(Money("EUR", Decimal("1000.50")),
                      (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("600"))),
                       ChannelAllocation(Channel.SMS, Money("EUR", Decimal("400.25"))))),
        target_segments=(f"workspaces/{workspace}/segments/vip",),
        contents=(ContentRef(Channel.EMAIL, f"workspaces/{workspace}/templates/spring-email"),
                  ContentRef(Channel.SMS, f"workspaces/{workspace}/templates/spring-sms")),
        labels={"team": "growth"},
    )
    return replace(base, **changes)
