"""`mkt campaign replay` on SQLite and PostgreSQL: the projection
rebuilt from the event stream is the projection the handlers kept."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import Engine, select, update

from svc_kit.db import make_engine

from svc_campaign import migrate
from svc_campaign.adapters import projection_replay as replay
from svc_campaign.adapters.tables import campaign_labels, campaigns
from svc_campaign.domain import commands
from svc_campaign.domain.model import CampaignFields
from svc_campaign.service_layer import handlers
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Clock, Ids


def deleted(i: int) -> bool:
    return i % 7 == 3 and i % 4 != 1  # scheduled ones (i % 4 == 1) cannot be deleted


def populate(engine: Engine, count: int) -> None:
    """Campaigns through the real handlers: updates, every kind of transition, deletes, idempotency keys."""
    clock, ids = Clock(), Ids()
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    for i in range(count):
        workspace = "acme" if i % 3 else "globex"
        created = handlers.create_campaign(commands.CreateCampaign(
            workspace, ready_fields(workspace, start=NOW + timedelta(days=30), labels={"n": str(i % 4)}),
            request_id=f"req-{i}"), uow(), clock, ids)
        handlers.update_campaign(commands.UpdateCampaign(
            workspace, created.id, CampaignFields(display_name="x", description=f"v{i}"), frozenset({"description"})),
            uow(), clock)
        for action in (("schedule", "start", "pause", "resume", "complete"), ("schedule",), ("cancel",), ())[i % 4]:
            handlers.change_state(commands.ChangeState(workspace, created.id, action), uow(), clock)
        if deleted(i):
            handlers.delete_campaign(commands.DeleteCampaign(workspace, created.id), uow(), clock)


def snapshot(engine: Engine) -> tuple[list, list]:
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(select(campaigns).order_by(campaigns.c.workspace,
                                                                                 campaigns.c.id))]
        labels = [tuple(r) for r in connection.execute(select(campaign_labels).order_by(*campaign_labels.c))]
    return rows, labels


def test_replay_rebuilds_exactly_the_projection_the_handlers_kept(engine):
    populate(engine, 30)
    before = snapshot(engine)
    remaining = 30 - sum(deleted(i) for i in range(30))
    assert len(before[0]) == remaining
    report = replay.replay(engine, stream=io.StringIO())
    assert report.campaigns == remaining
    assert report.events > 30 * 2
    assert snapshot(engine) == before
    assert replay.replay(engine, check=True, stream=io.StringIO()).differences == []


def test_check_finds_a_projection_that_drifted_and_replay_repairs_it(engine):
    populate(engine, 5)
    before = snapshot(engine)
    with engine.begin() as connection:
        tampered = connection.execute(select(campaigns.c.id).limit(1)).scalar_one()
        connection.execute(update(campaigns).where(campaigns.c.id == tampered).values(description="tampered"))
    report = replay.replay(engine, check=True, stream=io.StringIO())
    assert [name.rsplit("/", 1)[1] for name in report.differences] == [tampered]
    replay.replay(engine, stream=io.StringIO())
    assert snapshot(engine) == before


def test_idempotency_keys_survive_a_replay(engine):
    populate(engine, 2)
    replay.replay(engine, stream=io.StringIO())
    with engine.connect() as connection:
        keys = sorted(connection.execute(select(campaigns.c.request_id)).scalars())
    assert keys == ["req-0", "req-1"]
    again = handlers.create_campaign(commands.CreateCampaign("globex", ready_fields(
        "globex", start=NOW + timedelta(days=30), labels={"n": "0"}), request_id="req-0"),
        SqlUnitOfWork(engine), Clock(), Ids())
    assert again.fields.labels == {"n": "0"}


def test_progress_is_shown_on_large_streams(engine):
    populate(engine, 40)
    out = io.StringIO()
    report = replay.replay(engine, stream=out, chunk=10)  # production reads 5,000 events a time
    lines = out.getvalue().splitlines()
    assert len(lines) >= 9  # a line per tenth of the work when not on a terminal
    assert lines[-1].startswith("replaying campaign events [") and f"{report.events}/{report.events}" in lines[-1]


def test_the_command_line(tmp_path):
    env = {**os.environ, "MKT_STATE_DIR": str(tmp_path)}
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.sqlite3'}")
    migrate.upgrade(engine)
    populate(engine, 3)
    engine.dispose()
    check = subprocess.run([sys.executable, "-m", "mkt", "campaign", "replay", "--check"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert "the projection matches the event stream" in check.stdout
    rebuilt = subprocess.run([sys.executable, "-m", "mkt", "campaign", "replay"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt 3 campaigns from" in rebuilt.stdout
    assert "replaying campaign events" in rebuilt.stderr
