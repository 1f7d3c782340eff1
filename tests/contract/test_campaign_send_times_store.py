"""When messages go out, in the campaign database (SQLite and PostgreSQL):
the campaign's send options are planned onto its launch at the start, kept
across a restart with each target's latest due time, follow an update of the
pacing while the campaign runs; a launch without options stores none."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_launches
from svc_campaign.domain import commands
from svc_campaign.domain.launch import PageOutcome
from svc_campaign.domain.send_times import SendOptions
from svc_campaign.domain.values import Budget, Money, Pacing, Schedule
from svc_campaign.service_layer import handlers
from svc_campaign.service_layer.launch import follow_campaign
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Clock, Ids

START = NOW + timedelta(days=1)


def follow(engine: Engine, campaign_id: str, event_type: str) -> None:
    with engine.begin() as connection:
        follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection),
                        {"workspace": "acme", "aggregate_id": campaign_id, "event_type": event_type}, NOW)


IDS = Ids()


def create(engine: Engine, schedule: Schedule, pacing: Pacing = Pacing.NONE) -> str:
    data = ready_fields(start=START, schedule=schedule, target_segments=("workspaces/acme/segments/vip",),
                        budget=Budget(Money("EUR", Decimal(100)), pacing=pacing))
    return handlers.create_campaign(commands.CreateCampaign("acme", data), SqlUnitOfWork(engine), Clock(),
                                    IDS).id


def test_the_start_plans_the_options_which_survive_a_restart_and_follow_the_pacing(engine):
    campaign_id = create(engine, Schedule(START, START + timedelta(hours=10), "Europe/Paris", None, 40), Pacing.EVEN)
    follow(engine, campaign_id, "campaign_started")
    store = SqlLaunchStore(engine)
    launch = store.get("acme", campaign_id)
    assert launch.send_options == SendOptions(None, 40, Pacing.EVEN)

    launch.snapshot_taken(0, "workspaces/acme/segments/vip/snapshots/s1", 10, NOW)
    launch.page_sent(0, PageOutcome(5, 0, 0, "next"), NOW, NOW + timedelta(hours=3, microseconds=5))
    store.save(launch)
    again = store.get("acme", campaign_id)
    assert again.targets[0].last_send_time == NOW + timedelta(hours=3, microseconds=5)
    assert again.targets[1].last_send_time is None and again.send_options == launch.send_options

    data = ready_fields(start=START, budget=Budget(Money("EUR", Decimal(100)), pacing=Pacing.FRONT_LOADED))
    handlers.update_campaign(commands.UpdateCampaign("acme", campaign_id, data, frozenset({"budget"})),
                             SqlUnitOfWork(engine), Clock())
    follow(engine, campaign_id, "campaign_updated")
    assert store.get("acme", campaign_id).send_options == SendOptions(None, 40, Pacing.FRONT_LOADED)


def test_a_local_send_time_is_kept_and_no_options_store_nothing(engine):
    local = create(engine, Schedule(START, START + timedelta(hours=30), "Asia/Tokyo", time(9, 30)))
    plain = create(engine, Schedule(START, None, "Europe/Paris"))
    for campaign_id in (local, plain):
        follow(engine, campaign_id, "campaign_started")
    store = SqlLaunchStore(engine)
    assert store.get("acme", local).send_options == SendOptions(time(9, 30), 0, Pacing.NONE, "Asia/Tokyo")
    assert store.get("acme", plain).send_options == SendOptions()
    with engine.connect() as connection:
        stored = connection.execute(select(campaign_launches.c.send_options).where(
            campaign_launches.c.campaign_id == plain)).scalar_one()
    assert stored is None
