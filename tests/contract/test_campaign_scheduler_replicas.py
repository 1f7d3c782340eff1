"""Two campaign replicas on one PostgreSQL database, each a real OS process
running the scheduler loop: every due campaign starts exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from svc_kit.clock import utcnow
from svc_kit.db import make_engine
from svc_kit.errors import Aborted

from svc_campaign import migrate
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_events, campaigns
from svc_campaign.domain import commands
from svc_campaign.domain.values import Schedule
from svc_campaign.entrypoints.scheduler import Scheduler
from svc_campaign.service_layer import handlers, scheduler
from tests.databases import migrated_engine
from tests.fakes import ready_fields

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS = 120


def replica(url: str, seconds: float, out: str) -> None:
    """One replica: the scheduler loop for `seconds`, then the campaigns it started, as JSON in `out`."""
    engine = make_engine(url)
    started: list[str] = []
    raced = []
    original = scheduler.start_due_campaigns

    def recording(uow, clock, *args, **kwargs):
        try:
            done = original(uow, clock, *args, **kwargs)
        except Aborted:
            raced.append(1)
            raise
        started.extend(c.id for c in done)
        return done

    scheduler.start_due_campaigns = recording
    loop = Scheduler(lambda: SqlUnitOfWork(engine), utcnow, poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    loop.wake.set()
    thread.join(10)
    Path(out).write_text(json.dumps({"started": started, "raced": len(raced)}))
    engine.dispose()


def test_two_replicas_start_each_due_campaign_exactly_once(postgres_server, tmp_path):
    url = postgres_server.create_database(f"scheduler_replicas_{os.getpid()}")
    engine = migrated_engine(url, migrate.upgrade)
    now = datetime.now(UTC)
    first = now + timedelta(seconds=4)  # after both replicas are up; the starts spread over two seconds
    for i in range(CAMPAIGNS):
        start = first + timedelta(milliseconds=15 * (i % 130))
        created = handlers.create_campaign(
            commands.CreateCampaign("acme", ready_fields(start=start, schedule=Schedule(start, None, "UTC")),
                                    campaign_id=f"c{i:03d}"), SqlUnitOfWork(engine), lambda: now, lambda: "x")
        handlers.change_state(commands.ChangeState("acme", created.id, "schedule"), SqlUnitOfWork(engine),
                              lambda: now)
    run_for = (first - datetime.now(UTC)).total_seconds() + 5
    outs = [tmp_path / f"replica{n}.json" for n in range(2)]
    processes = [subprocess.Popen([sys.executable, "-c", "import sys; from tests.contract.test_campaign_scheduler_"
                                   "replicas import replica; replica(sys.argv[1], float(sys.argv[2]), sys.argv[3])",
                                   url, str(run_for), str(out)], cwd=ROOT) for out in outs]
    for process in processes:
        assert process.wait(timeout=run_for + 60) == 0
    by_replica = [json.loads(out.read_text()) for out in outs]
    with engine.connect() as connection:
        starts = connection.execute(
            select(campaign_events.c.campaign_id, func.count()).where(campaign_events.c.event_type
                                                                      == "campaign_started")
            .group_by(campaign_events.c.campaign_id)).all()
        states = connection.execute(select(campaigns.c.state, func.count()).group_by(campaigns.c.state)).all()
    engine.dispose()
    assert len(starts) == CAMPAIGNS and all(count == 1 for _, count in starts)
    assert dict(states) == {"RUNNING": CAMPAIGNS}
    every = by_replica[0]["started"] + by_replica[1]["started"]
    assert sorted(every) == sorted(f"c{i:03d}" for i in range(CAMPAIGNS))
    # The claim skips rows the other replica holds, so neither even tries a start the other made (without
    # SKIP LOCKED the version check would still refuse the second start, as a raced, rolled-back pass).
    assert [r["raced"] for r in by_replica] == [0, 0]
    print(f"replica starts: {len(by_replica[0]['started'])} and {len(by_replica[1]['started'])}")
