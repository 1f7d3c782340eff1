"""Units of work: one transaction around a handler, with the events the changed
campaigns recorded written to the outbox inside that same transaction."""

from __future__ import annotations

import abc

from sqlalchemy import Engine, insert

from svc_kit.ids import new_id

from svc_campaign.adapters.repository import CampaignRepository, SqlCampaignRepository
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.domain.events import CampaignEvent


class UnitOfWork(abc.ABC):
    campaigns: CampaignRepository

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


class SqlUnitOfWork(UnitOfWork):
    """One connection and one transaction per unit of work (SQLAlchemy Core:
    the repository maps rows to the domain model itself)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> SqlUnitOfWork:
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.campaigns = SqlCampaignRepository(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.connection.close()

    def _commit(self, events: list[CampaignEvent]) -> None:
        if events:
            self.connection.execute(insert(campaign_outbox), [
                {
                    "id": new_id(),
                    "workspace": e.workspace,
                    "aggregate_id": e.campaign_id,
                    "aggregate_version": e.version,
                    "event_type": e.type,
                    "payload": e.data,
                    "occurred_time": e.occurred_at,
                }
                for e in events
            ])
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
