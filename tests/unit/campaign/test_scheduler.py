"""The scheduler's use cases over the fake unit of work: what is due starts
once through the `start` transition; the loop sleeps until the next start
time, never longer than its poll interval."""

from __future__ import annotations

from datetime import timedelta

from svc_campaign.domain import commands
from svc_campaign.domain.values import State
from svc_campaign.entrypoints.scheduler import Scheduler
from svc_campaign.service_layer import handlers, scheduler
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork, ready_fields

START = NOW + timedelta(days=1)


def setup(count: int = 1) -> FakeDatabase:
    database = FakeDatabase()
    for i in range(count):
        created = handlers.create_campaign(
            commands.CreateCampaign("acme", ready_fields(start=START + timedelta(minutes=i)), f"c{i}"),
            FakeUnitOfWork(database), lambda: NOW, lambda: "x")
        handlers.change_state(commands.ChangeState("acme", created.id, "schedule"), FakeUnitOfWork(database),
                              lambda: NOW)
    return database


def test_due_campaigns_start_in_batches_and_publish_campaign_started_once():
    database = setup(5)
    uow = lambda: FakeUnitOfWork(database)  # noqa: E731
    assert scheduler.run_pass(uow, lambda: START + timedelta(minutes=3), limit=2) == 4
    assert [c.campaign.state for c in database.campaigns.values()] == [State.RUNNING] * 4 + [State.SCHEDULED]
    assert scheduler.run_pass(uow, lambda: START + timedelta(minutes=3), limit=2) == 0
    assert sum(e.type == "campaign_started" for e in database.outbox) == 4


def test_the_loop_sleeps_until_the_next_start_but_no_longer_than_the_poll():
    database = setup(1)
    clock = lambda: START - timedelta(seconds=4)  # noqa: E731
    assert Scheduler(lambda: FakeUnitOfWork(database), clock, poll_seconds=15).seconds_to_next_pass() == 4
    assert Scheduler(lambda: FakeUnitOfWork(database), clock, poll_seconds=2).seconds_to_next_pass() == 2
    late = lambda: START + timedelta(hours=1)  # noqa: E731
    assert Scheduler(lambda: FakeUnitOfWork(database), late, poll_seconds=15).seconds_to_next_pass() == 0
    assert Scheduler(lambda: FakeUnitOfWork(FakeDatabase()), late, 15).seconds_to_next_pass() == 15
