"""Recurring campaigns on the campaign database (SQLite and PostgreSQL): the scheduler fires each
occurrence of the rule once, each run plans its own launch (a fresh snapshot, notify idempotency keys
naming the run), the campaign stays RUNNING between runs and completes by itself after the last run once
its messages are final; a long outage fires one catch-up run; pause holds the runs and cancel stops them;
launches from before the migration become run 1. Two replica processes on one PostgreSQL fire each
occurrence of many campaigns exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, Table, func, insert, select

import event_schemas
from svc_kit.db import make_engine
from svc_kit.errors import Aborted

from svc_campaign import migrate
from svc_campaign.adapters import event_codec
from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_events, campaign_launches, campaigns
from svc_campaign.domain import commands
from svc_campaign.domain.launch import LaunchState
from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import Schedule, State
from svc_campaign.entrypoints.delivery_consumer import delivery_consumer
from svc_campaign.entrypoints.scheduler import Scheduler
from svc_campaign.service_layer import handlers, scheduler, upkeep
from svc_campaign.service_layer.launch import LaunchRunner, follow_campaign, get_launch, list_launches
from tests.contract.test_campaign_delivery_upkeep import StubBus, event
from tests.databases import migrated_engine
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Ids
from tests.unit.campaign.test_launch import FakeAudience, FakeContent, FakeNotify, profiles

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Paris
SCHEMA = event_schemas.load("campaign.v1")
VIP = "workspaces/acme/segments/vip"


class At:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def recurring(engine: Engine, rule: str, start=START, end=None, campaign_id: str = "", ids=None) -> str:
    fields = ready_fields(start=start, schedule=Schedule(start, end, "Europe/Paris", recurrence=rule))
    created = handlers.create_campaign(commands.CreateCampaign("acme", fields, campaign_id), SqlUnitOfWork(engine),
                                       At(NOW), ids or Ids())
    handlers.change_state(commands.ChangeState("acme", created.id, "schedule"), SqlUnitOfWork(engine), At(NOW))
    return created.id


def change(engine: Engine, campaign_id: str, action: str, now: datetime) -> None:
    handlers.change_state(commands.ChangeState("acme", campaign_id, action), SqlUnitOfWork(engine), At(now))


def campaign(engine: Engine, campaign_id: str):
    return handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine))


class Follower:
    """The launch worker's inbox handler fed with the campaign's events as the bus delivers them (Avro)."""

    def __init__(self, engine: Engine, campaign_id: str):
        self.engine, self.campaign_id, self.seen = engine, campaign_id, 0

    def __call__(self, now: datetime) -> None:
        with self.engine.begin() as connection:
            history = SqlCampaignRepository(connection).history("acme", self.campaign_id, after_version=self.seen)
        for e in history:
            delivered = SCHEMA.decode(SCHEMA.encode(event_codec.envelope(e)))
            with self.engine.begin() as connection:
                follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection), delivered, now)
            self.seen = e.version


def send_everything(runner: LaunchRunner) -> None:
    for _ in range(50):
        if not asyncio.run(runner.run_due()):
            return


def started_runs(engine: Engine, campaign_id: str) -> list[tuple[int, datetime]]:
    with SqlUnitOfWork(engine) as uow:
        history = uow.campaigns.history("acme", campaign_id)
    return [(e.data["run"], e.data["occurrence_time"]) for e in history if e.type == "campaign_started"]


def test_each_occurrence_fires_one_run_with_its_own_launch_until_the_last_then_it_completes(engine):
    campaign_id = recurring(engine, "FREQ=MINUTELY;INTERVAL=5;COUNT=3")
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    follow = Follower(engine, campaign_id)
    clock = At(START)
    audience, notify = FakeAudience({VIP: profiles("p", 3)}), FakeNotify()
    runner = LaunchRunner(SqlLaunchStore(engine), audience, notify, clock, FakeContent())
    tally = delivery_consumer(StubBus(), engine)
    delivered = 0

    def deliver_all() -> None:
        nonlocal delivered
        while delivered < len(notify.sent):
            tally.handle(event("message_delivered", campaign_id, f"m{delivered}"))
            delivered += 1

    assert scheduler.next_due_time(uow()) == START
    assert scheduler.run_pass(uow, At(START - timedelta(seconds=1))) == 0
    for n, occurrence in enumerate((START, START + timedelta(minutes=5), START + timedelta(minutes=10)), 1):
        clock.now = occurrence + timedelta(seconds=20)
        assert scheduler.run_pass(uow, clock) == 1
        assert scheduler.run_pass(uow, clock) == 0  # the same occurrence never fires twice
        follow(clock.now)
        send_everything(runner)
        deliver_all()
        current = campaign(engine, campaign_id)
        assert (current.state, current.runs, current.last_run_time) == (State.RUNNING, n, occurrence)
        newest = get_launch("acme", campaign_id, uow())
        assert (newest.run, newest.occurrence_time, newest.state) == (n, occurrence, LaunchState.COMPLETED)
        completed = upkeep.run_pass(uow, clock).completed
        assert completed == ([campaign_id] if n == 3 else [])  # between runs it stays RUNNING

    assert campaign(engine, campaign_id).state is State.COMPLETED
    assert scheduler.run_pass(uow, At(START + timedelta(days=1))) == 0 and scheduler.next_due_time(uow()) is None
    assert started_runs(engine, campaign_id) == [(1, START), (2, START + timedelta(minutes=5)),
                                                 (3, START + timedelta(minutes=10))]
    # one message per recipient, channel and run; each run froze its own snapshot
    keys = sorted(notify.sent)
    assert len(keys) == 3 * 3 * 2 and len(set(keys)) == 18
    assert sum(k.endswith(":launch") for k in keys) == 6 and sum(k.endswith(":run-3") for k in keys) == 6
    assert sorted(s.rsplit("/", 1)[1] for s in audience.snapshots) == sorted(
        f"launch-{campaign_id}-{c}{r}" for c in ("email", "sms") for r in ("", "-r2", "-r3"))
    first_page = list_launches("acme", campaign_id, 2, "", uow())
    assert [x.run for x in first_page.launches] == [3, 2] and first_page.next_page_token
    second_page = list_launches("acme", campaign_id, 2, first_page.next_page_token, uow())
    assert [x.run for x in second_page.launches] == [1] and second_page.next_page_token == ""


def test_a_long_outage_fires_one_catch_up_run(engine):
    campaign_id = recurring(engine, "FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    assert scheduler.run_pass(uow, At(START)) == 1
    back = START + timedelta(days=10, hours=3)  # nine occurrences passed while no process ran
    loop = Scheduler(uow, At(back), poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    try:
        for _ in range(100):
            if campaign(engine, campaign_id).runs == 2:
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.3)  # a few more passes: none may fire again
    finally:
        stop.set()
        loop.wake.set()
        thread.join(5)
    assert started_runs(engine, campaign_id) == [(1, START), (2, START + timedelta(days=10))]
    assert scheduler.next_due_time(uow()) == START + timedelta(days=11)


def test_pause_holds_the_runs_resume_fires_one_and_cancel_stops_them(engine):
    campaign_id = recurring(engine, "FREQ=HOURLY;BYMINUTE=0")
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    follow = Follower(engine, campaign_id)
    assert scheduler.run_pass(uow, At(START)) == 1
    change(engine, campaign_id, "pause", START + timedelta(minutes=10))
    assert scheduler.next_due_time(uow()) is None
    assert scheduler.run_pass(uow, At(START + timedelta(hours=3))) == 0
    change(engine, campaign_id, "resume", START + timedelta(hours=3, minutes=30))
    assert scheduler.run_pass(uow, At(START + timedelta(hours=3, minutes=30))) == 1
    assert started_runs(engine, campaign_id)[-1] == (2, START + timedelta(hours=3))
    follow(START + timedelta(hours=3, minutes=30))
    change(engine, campaign_id, "cancel", START + timedelta(hours=3, minutes=40))
    follow(START + timedelta(hours=3, minutes=40))
    assert scheduler.next_due_time(uow()) is None
    assert scheduler.run_pass(uow, At(START + timedelta(days=2))) == 0
    assert len(started_runs(engine, campaign_id)) == 2
    newest = get_launch("acme", campaign_id, uow())
    assert newest.run == 2 and newest.state is LaunchState.CANCELLED


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_launches_from_before_the_migration_become_run_one(backend, request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'old.sqlite3'}" if backend == "sqlite" else
           request.getfixturevalue("postgres_server").create_database(f"recurrence_migration_{os.getpid()}"))
    engine = make_engine(url)
    migrate.upgrade(engine, "0007")
    # the rows and events 0007 knew: a campaign started (no run in its campaign_started) and its launch
    created = Campaign.create("acme", "old", ready_fields(start=START), NOW).events[0]
    started_at = START + timedelta(seconds=3)
    meta = MetaData()
    old_campaigns, old_launches = (Table(name, meta, autoload_with=engine)
                                   for name in ("campaigns", "campaign_launches"))
    with engine.begin() as connection:
        for e, version, event_type, payload, at in (
                (created, 1, created.type, event_codec.payload_record(created), NOW),
                (None, 2, "campaign_started", {"from_state": "SCHEDULED", "to_state": "RUNNING"}, started_at)):
            connection.execute(insert(campaign_events).values(
                event_id=f"e{version}", workspace="acme", campaign_id="old", version=version, event_type=event_type,
                payload=payload, occurred_time=at, producer="svc_campaign"))
        connection.execute(insert(old_campaigns).values(
            workspace="acme", id="old", display_name="Spring sale", description="", state="RUNNING",
            channels=["EMAIL", "SMS"], schedule=None, budget=None, target_segments=[], contents=[], labels={},
            version=2, create_time=NOW, update_time=started_at, state_time=started_at))
        connection.execute(insert(old_launches).values(
            workspace="acme", campaign_id="old", state="COMPLETED", targets=[], attempts=0, last_error="",
            version=3, start_time=started_at, update_time=started_at))
    campaign_id = "old"
    migrate.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(select(campaigns.c.runs, campaigns.c.last_run_time)).one()
        launch = connection.execute(select(campaign_launches.c.run, campaign_launches.c.occurrence_time)).one()
    assert tuple(row) == (1, started_at) and tuple(launch) == (1, started_at)
    projected = campaign(engine, campaign_id)
    assert (projected.runs, projected.last_run_time) == (1, started_at)
    with SqlUnitOfWork(engine) as uow:  # the history agrees with the projection
        replayed = Campaign.replay(uow.campaigns.history("acme", campaign_id))
    assert (replayed.runs, replayed.last_run_time) == (1, started_at)
    # a second run's launch is a row of its own now
    with engine.begin() as connection:
        repository = SqlLaunchRepository(connection)
        second = repository.get("acme", campaign_id)
        second.run, second.version = 2, 0
        assert repository.add(second) and not repository.add(second)
        assert [x.run for x in repository.list("acme", campaign_id, None, 10)] == [2, 1]
    engine.dispose()


# -- two replica processes on PostgreSQL --------------------------------------------------------------------

SPEED = 300  # campaign seconds per real second: an occurrence every 5 minutes comes every real second
CAMPAIGNS = 30
RUNS = 4


def replica(url: str, real_base: str, base: str, seconds: float, out: str) -> None:
    """One replica: the scheduler loop on an accelerated clock for `seconds`, then the runs it fired."""
    engine = make_engine(url)
    real, start = datetime.fromisoformat(real_base), datetime.fromisoformat(base)
    fired: list[list] = []
    raced = []
    original = scheduler.start_due_campaigns

    def recording(uow, clock, *args, **kwargs):
        try:
            done = original(uow, clock, *args, **kwargs)
        except Aborted:
            raced.append(1)
            raise
        fired.extend([c.id, c.runs] for c in done)
        return done

    scheduler.start_due_campaigns = recording
    loop = Scheduler(lambda: SqlUnitOfWork(engine), lambda: start + (datetime.now(UTC) - real) * SPEED,
                     poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    loop.wake.set()
    thread.join(10)
    Path(out).write_text(json.dumps({"fired": fired, "raced": len(raced)}))
    engine.dispose()


@pytest.mark.postgres
def test_two_replicas_fire_each_occurrence_exactly_once(postgres_server, tmp_path):
    url = postgres_server.create_database(f"recurrence_replicas_{os.getpid()}")
    engine = migrated_engine(url, migrate.upgrade)
    ids = Ids()
    first = START + timedelta(minutes=5 * 4)  # the first occurrence, 4 real seconds after the replicas start
    for i in range(CAMPAIGNS):
        recurring(engine, f"FREQ=MINUTELY;INTERVAL=5;COUNT={RUNS}", start=first, campaign_id=f"r{i:03d}", ids=ids)
    real_base = datetime.now(UTC) + timedelta(seconds=3)  # once both replicas are up: campaign time `base` ...
    base = first - timedelta(minutes=5 * 4)  # ... + (real - real_base) * SPEED reaches `first` 4 s later
    run_for = 3 + 4 + RUNS + 3  # the last occurrence comes 3 + 4 + 3 real seconds in; then a few more passes
    outs = [tmp_path / f"replica{n}.json" for n in range(2)]
    processes = [subprocess.Popen([sys.executable, "-c", "import sys; from tests.contract.test_campaign_recurrence "
                                   "import replica; replica(*sys.argv[1:4], float(sys.argv[4]), sys.argv[5])",
                                   url, real_base.isoformat(), base.isoformat(), str(run_for), str(out)], cwd=ROOT)
                 for out in outs]
    for process in processes:
        assert process.wait(timeout=run_for + 60) == 0
    by_replica = [json.loads(out.read_text()) for out in outs]
    with engine.connect() as connection:
        runs = connection.execute(
            select(campaign_events.c.campaign_id, func.count()).where(campaign_events.c.event_type
                                                                      == "campaign_started")
            .group_by(campaign_events.c.campaign_id)).all()
    occurrences = [first + timedelta(minutes=5 * k) for k in range(RUNS)]
    for i in (0, CAMPAIGNS - 1):
        assert started_runs(engine, f"r{i:03d}") == [(k + 1, o) for k, o in enumerate(occurrences)]
    engine.dispose()
    assert sorted(runs) == [(f"r{i:03d}", RUNS) for i in range(CAMPAIGNS)]
    every = sorted(map(tuple, by_replica[0]["fired"] + by_replica[1]["fired"]))
    assert every == sorted((f"r{i:03d}", k) for i in range(CAMPAIGNS) for k in range(1, RUNS + 1))
    assert [r["raced"] for r in by_replica] == [0, 0]  # SKIP LOCKED: neither tried a run the other fired
    print(f"replica runs: {len(by_replica[0]['fired'])} and {len(by_replica[1]['fired'])}")
