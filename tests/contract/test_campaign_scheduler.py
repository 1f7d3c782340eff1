"""The scheduler on the campaign database (SQLite and PostgreSQL): a due
campaign starts once, through the same transition as `:start`; a start missed
while no process ran fires once when one comes back; the schedule's end stops
the launch from handing anyone over."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, MetaData, Table, insert, select

from svc_kit.db import make_engine

from svc_campaign import migrate

from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_events, campaigns
from svc_campaign.domain import commands
from svc_campaign.domain.launch import LaunchState, TargetState
from svc_campaign.domain.values import Schedule, State
from svc_campaign.entrypoints.scheduler import Scheduler
from svc_campaign.service_layer import handlers, scheduler
from svc_campaign.service_layer.launch import LaunchRunner, follow_campaign
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Ids
from tests.unit.campaign.test_launch import FakeAudience, FakeContent, FakeNotify, profiles

START = NOW + timedelta(hours=2)


class At:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def scheduled(engine: Engine, ids: Ids, start=START, end=None, **changes) -> str:
    fields = ready_fields(start=start, schedule=Schedule(start, end, "Europe/Paris"), **changes)
    created = handlers.create_campaign(commands.CreateCampaign("acme", fields), SqlUnitOfWork(engine), At(NOW), ids)
    handlers.change_state(commands.ChangeState("acme", created.id, "schedule", ""), SqlUnitOfWork(engine), At(NOW))
    return created.id


def started_events(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [r.campaign_id for r in connection.execute(
            select(campaign_events.c.campaign_id).where(campaign_events.c.event_type == "campaign_started"))]


def state(engine: Engine, campaign_id: str) -> State:
    return handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine)).state


def test_a_due_campaign_starts_once_at_its_start_time(engine):
    ids = Ids()
    first, later = scheduled(engine, ids), scheduled(engine, ids, start=START + timedelta(hours=1))
    draft = handlers.create_campaign(commands.CreateCampaign("acme", ready_fields()), SqlUnitOfWork(engine),
                                     At(NOW), ids).id
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    assert scheduler.next_due_time(uow()) == START
    assert scheduler.run_pass(uow, At(START - timedelta(seconds=1))) == 0
    assert state(engine, first) is State.SCHEDULED

    assert scheduler.run_pass(uow, At(START)) == 1
    assert state(engine, first) is State.RUNNING and state(engine, later) is State.SCHEDULED
    assert state(engine, draft) is State.DRAFT
    assert scheduler.run_pass(uow, At(START + timedelta(minutes=5))) == 0
    assert started_events(engine) == [first]
    assert scheduler.next_due_time(uow()) == START + timedelta(hours=1)  # the started one is due no more


def test_an_unscheduled_or_rescheduled_campaign_follows_its_schedule(engine):
    ids = Ids()
    campaign_id = scheduled(engine, ids)
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    handlers.change_state(commands.ChangeState("acme", campaign_id, "unschedule", ""), uow(), At(NOW))
    assert scheduler.next_due_time(uow()) is None
    assert scheduler.run_pass(uow, At(START)) == 0
    moved = START + timedelta(days=1)
    later = ready_fields(start=moved)
    handlers.update_campaign(commands.UpdateCampaign("acme", campaign_id, later, frozenset({"schedule"})), uow(), At(NOW))
    handlers.change_state(commands.ChangeState("acme", campaign_id, "schedule", ""), uow(), At(NOW))
    assert scheduler.next_due_time(uow()) == moved
    assert scheduler.run_pass(uow, At(START)) == 0
    assert scheduler.run_pass(uow, At(moved)) == 1


def test_a_start_missed_while_down_fires_once_when_the_scheduler_comes_back(engine):
    ids = Ids()
    many = [scheduled(engine, ids, start=START + timedelta(minutes=i)) for i in range(7)]
    back = START + timedelta(days=3)  # no process ran through all those start times
    loop = Scheduler(lambda: SqlUnitOfWork(engine), At(back), poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    try:
        for _ in range(100):
            if all(state(engine, c) is State.RUNNING for c in many):
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.3)  # a few more passes: none may start anything again
    finally:
        stop.set()
        loop.wake.set()
        thread.join(5)
    assert sorted(started_events(engine)) == sorted(many)
    assert loop.seconds_to_next_pass() == 0.05  # nothing due: the poll interval


def test_the_schedule_end_stops_the_launch_handing_members_over(engine):
    ids = Ids()
    end = START + timedelta(hours=1)
    campaign_id = scheduled(engine, ids, end=end)
    scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(START))
    with engine.begin() as connection:
        follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection),
                        {"workspace": "acme", "aggregate_id": campaign_id, "event_type": "campaign_started"}, START)
    store = SqlLaunchStore(engine)
    assert store.get("acme", campaign_id).end_time == end
    clock = At(START)
    notify = FakeNotify()
    audience = FakeAudience({"workspaces/acme/segments/vip": profiles("p", 250)})
    runner = LaunchRunner(store, audience, notify, clock, FakeContent(), page_size=100)
    for _ in range(5):  # both snapshots, both preflight renders, then one page of EMAIL
        asyncio.run(runner.run_due())
    assert len(notify.sent) == 100

    clock.now = end
    asyncio.run(runner.run_due())
    launch = store.get("acme", campaign_id)
    assert launch.state is LaunchState.COMPLETED and "schedule ended" in launch.last_error
    assert [t.state for t in launch.targets] == [TargetState.FAILED, TargetState.FAILED]
    assert "150 members not handed over" in launch.targets[0].error
    assert "250 members not handed over" in launch.targets[1].error
    assert asyncio.run(runner.run_due()) == 0 and len(notify.sent) == 100


def test_a_changed_end_reaches_the_running_launch(engine):
    ids = Ids()
    campaign_id = scheduled(engine, ids, end=START + timedelta(days=1))
    scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(START))

    def follow(event_type):
        with engine.begin() as connection:
            follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection),
                            {"workspace": "acme", "aggregate_id": campaign_id, "event_type": event_type}, START)

    follow("campaign_started")
    running = handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine))
    sooner = Schedule(START, START + timedelta(minutes=30), "Europe/Paris")
    handlers.update_campaign(commands.UpdateCampaign(
        "acme", campaign_id, type(running.fields)(schedule=sooner), frozenset({"schedule.end_time"})),
        SqlUnitOfWork(engine), At(START))
    follow("campaign_updated")
    assert SqlLaunchStore(engine).get("acme", campaign_id).end_time == sooner.end_time


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_campaigns_scheduled_before_the_migration_become_due_at_their_start(backend, request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'old.sqlite3'}" if backend == "sqlite" else
           request.getfixturevalue("postgres_server").create_database(f"scheduler_migration_{os.getpid()}"))
    engine = make_engine(url)
    migrate.upgrade(engine, "0003")
    row = {"display_name": "Old", "description": "", "channels": ["EMAIL"], "budget": None,
           "target_segments": [], "contents": [], "labels": {}, "version": 2, "create_time": NOW,
           "update_time": NOW, "state_time": NOW}
    old_campaigns = Table("campaigns", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        for campaign_id, state_name in (("old-scheduled", "SCHEDULED"), ("old-draft", "DRAFT")):
            connection.execute(insert(old_campaigns).values(
                workspace="acme", id=campaign_id, state=state_name,
                schedule={"start_time": START.isoformat(), "end_time": None, "time_zone": "UTC"}, **row))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        due = dict(connection.execute(select(campaigns.c.id, campaigns.c.due_time)).all())
    engine.dispose()
    assert due == {"old-scheduled": START, "old-draft": None}
