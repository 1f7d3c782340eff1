"""Rebuilds the campaign projection (the `campaigns` and `campaign_labels`
tables that queries read) from the event stream, in one transaction, with a
progress line: `mkt campaign replay` (`--check` rebuilds in memory and
compares, changing nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, delete, func, select

from svc_kit.progress import Progress

from svc_campaign.adapters import event_codec
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.tables import campaign_events, campaign_labels, campaigns
from svc_campaign.domain.events import CREATED
from svc_campaign.domain.model import Campaign

CHUNK = 5000
_e = campaign_events.c
_CHUNK = (select(campaign_events).where(_e.position > bindparam("after")).order_by(_e.position)
          .limit(bindparam("limit")))


@dataclass(frozen=True)
class ReplayReport:
    events: int
    campaigns: int  # in the projection (deleted ones excluded)
    seconds: float
    differences: list[str]  # --check: projection rows that differ from the replayed state


Key = tuple[str, str]


def _fold(connection, progress: Progress,
          chunk: int) -> tuple[dict[Key, Campaign], dict[Key, tuple[str | None, str | None]]]:
    state: dict[Key, Campaign] = {}
    requests: dict[Key, tuple[str | None, str | None]] = {}
    after = 0
    while rows := connection.execute(_CHUNK, {"after": after, "limit": chunk}).all():
        for row in rows:
            key = (row.workspace, row.campaign_id)
            event = event_codec.event_from_payload(row.event_id, row.event_type, row.workspace, row.campaign_id,
                                                   row.version, row.occurred_time, row.payload)
            if event.type == CREATED:
                state[key] = Campaign.replay([event])
                requests[key] = (row.request_id, row.request_fingerprint)
            else:
                state[key].apply(event)
        after = rows[-1].position
        progress.advance(len(rows))
    return state, requests


def replay(engine: Engine, check: bool = False, stream=None, chunk: int = CHUNK) -> ReplayReport:
    with engine.begin() as connection:
        total = connection.execute(select(func.count()).select_from(campaign_events)).scalar_one()
        progress = Progress(total, "replaying campaign events", "events", stream)
        state, requests = _fold(connection, progress, chunk)
        live = {key: campaign for key, campaign in state.items() if not campaign.deleted}
        repository = SqlCampaignRepository(connection)
        differences: list[str] = []
        if check:
            current = {(c.workspace, c.id): c for c in
                       (repository._campaign(row) for row in connection.execute(select(campaigns)))}
            for key in sorted(set(current) | set(live)):
                if current.get(key) != live.get(key):
                    differences.append(f"workspaces/{key[0]}/campaigns/{key[1]}")
        else:
            connection.execute(delete(campaign_labels))
            connection.execute(delete(campaigns))
            for key, campaign in live.items():
                repository.write_projection(campaign, *requests[key])
        seconds = progress.finish()
    return ReplayReport(total, len(live), seconds, differences)

