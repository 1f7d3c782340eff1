"""One contract, three implementations: the in-memory fake, SQLAlchemy on
SQLite and SQLAlchemy on PostgreSQL. Each test runs against all three, through
the unit of work of its implementation; whatever the fake promises the unit
tests, the real adapters keep."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, select

from svc_kit.db import make_engine
from svc_kit.errors import Aborted, AlreadyExists

from svc_campaign import migrate
from svc_campaign.adapters.tables import campaign_outbox, metadata
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Schedule, State
from svc_campaign.service_layer.unit_of_work import SqlUnitOfWork, UnitOfWork
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork, ready_fields

ANY = CampaignFilter()
LATER = NOW + timedelta(hours=1)


@dataclass
class Backend:
    name: str
    new_uow: Callable[[], UnitOfWork]
    outbox: Callable[[], list[tuple]]  # (workspace, aggregate_id, aggregate_version, event_type, payload)


# -- the implementations --------------------------------------------------------------------------------


def _migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory) -> Iterator[Engine]:
    engine = _migrated(f"sqlite:///{tmp_path_factory.mktemp('contract') / 'campaign.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine(postgres_server) -> Iterator[Engine]:
    engine = _migrated(postgres_server.create_database(f"contract_campaign_{os.getpid()}"))
    yield engine
    engine.dispose()


def _sql_backend(name: str, engine: Engine) -> Backend:
    with engine.begin() as connection:  # every test starts on empty tables
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())

    def outbox() -> list[tuple]:
        c = campaign_outbox.c
        with engine.connect() as connection:
            rows = connection.execute(select(c.workspace, c.aggregate_id, c.aggregate_version, c.event_type,
                                             c.payload).order_by(c.occurred_time, c.aggregate_version, c.id))
            return [tuple(row) for row in rows]

    return Backend(name, lambda: SqlUnitOfWork(engine), outbox)


def _fake_backend() -> Backend:
    database = FakeDatabase()

    def outbox() -> list[tuple]:
        return [(e.workspace, e.campaign_id, e.version, e.type, e.data)
                for e in sorted(database.outbox, key=lambda e: (e.occurred_at, e.version))]

    return Backend("fake", lambda: FakeUnitOfWork(database), outbox)


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> Backend:
    if request.param == "fake":
        return _fake_backend()
    return _sql_backend(request.param, request.getfixturevalue(f"{request.param}_engine"))


# -- helpers --------------------------------------------------------------------------------------------


def campaign(campaign_id="spring", workspace="acme", state=State.DRAFT, created=NOW, labels=None,
             **changes) -> Campaign:
    data = ready_fields(workspace, labels=labels if labels is not None else {"team": "growth"}, **changes)
    return Campaign(workspace, campaign_id, data, state, created, created, created)


def add(backend: Backend, *campaigns: Campaign, request_id: str = "", fingerprint: str = "") -> None:
    with backend.new_uow() as uow:
        for c in campaigns:
            uow.campaigns.add(c, request_id, fingerprint)
        uow.commit()


def get(backend: Backend, workspace: str, campaign_id: str) -> Campaign | None:
    with backend.new_uow() as uow:
        return uow.campaigns.get(workspace, campaign_id)


def ids(campaigns) -> list[str]:
    return [c.id for c in campaigns]


# -- add and get ----------------------------------------------------------------------------------------


def test_fully_populated_campaign_roundtrips(backend):
    start = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    data = CampaignFields(
        display_name="Été — soldes 🎉",
        description="Multi-line\ndescription with 'quotes' and \"doubles\"",
        channels=(Channel.PUSH, Channel.EMAIL, Channel.IN_APP),
        schedule=Schedule(start, datetime(2026, 4, 30, 23, 59, 59, 999999, tzinfo=UTC), "America/Sao_Paulo"),
        budget=Budget(Money("JPY", Decimal("1234567.890123456")),
                      (ChannelAllocation(Channel.EMAIL, Money("JPY", Decimal("0.000000001"))),
                       ChannelAllocation(Channel.PUSH, Money("JPY", Decimal("1000000"))))),
        target_segments=("workspaces/acme/segments/vip", "workspaces/acme/segments/new-customers"),
        contents=(ContentRef(Channel.PUSH, "workspaces/acme/templates/push"),
                  ContentRef(Channel.EMAIL, "workspaces/acme/templates/mail"),
                  ContentRef(Channel.IN_APP, "workspaces/acme/templates/banner")),
        labels={"team": "growth", "tier": "gold", "empty": "", "version_2": "1.5-beta_2"},
    )
    created = datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)
    original = Campaign("acme", "spring-2026", data, State.PAUSED, created, created + timedelta(microseconds=1),
                        created + timedelta(seconds=5, microseconds=7), version=7)
    add(backend, original)

    loaded = get(backend, "acme", "spring-2026")

    assert loaded == original
    assert loaded.fields.budget.total.amount == Decimal("1234567.890123456")
    assert loaded.fields.budget.allocations[0].amount.amount == Decimal("0.000000001")
    assert loaded.fields.schedule.start_time == start and loaded.fields.schedule.start_time.microsecond == 123456
    assert loaded.create_time.utcoffset() == timedelta(0) and loaded.create_time.microsecond == 654321
    assert loaded.fields.channels == data.channels and loaded.fields.contents == data.contents  # order kept
    assert loaded.etag == original.etag
    assert loaded.events == []


def test_minimal_campaign_roundtrips(backend):
    original = Campaign("acme", "bare", CampaignFields(display_name="Bare"), State.DRAFT, NOW, NOW, NOW)
    add(backend, original)
    loaded = get(backend, "acme", "bare")
    assert loaded == original
    assert loaded.fields.schedule is None and loaded.fields.budget is None and loaded.fields.labels == {}


def test_schedule_with_only_some_parts_roundtrips(backend):
    original = campaign(schedule=Schedule(end_time=datetime(2026, 5, 1, tzinfo=UTC)))
    add(backend, original)
    assert get(backend, "acme", "spring").fields.schedule == Schedule(None, datetime(2026, 5, 1, tzinfo=UTC), "")


def test_get_of_a_missing_campaign_is_none(backend):
    assert get(backend, "acme", "nothing") is None


def test_a_loaded_campaign_is_a_copy(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.fields = replace(loaded.fields, display_name="Changed but not saved")
        loaded.fields.labels["extra"] = "x"
    assert get(backend, "acme", "spring") == campaign()


# -- workspaces -----------------------------------------------------------------------------------------


def test_workspaces_are_isolated(backend):
    ours = campaign(display_name="Ours")
    theirs = campaign(workspace="globex", display_name="Theirs", labels={"team": "growth", "only": "globex"})
    add(backend, ours, request_id="req-1", fingerprint="f-acme")
    add(backend, theirs, request_id="req-1", fingerprint="f-globex")  # same id, same request id: fine
    add(backend, campaign("other", workspace="globex"))

    with backend.new_uow() as uow:
        assert uow.campaigns.get("acme", "spring") == ours
        assert uow.campaigns.get("globex", "spring") == theirs
        assert uow.campaigns.get("initech", "spring") is None
        assert ids(uow.campaigns.list("acme", ANY, None, 10)) == ["spring"]
        assert ids(uow.campaigns.list("globex", ANY, None, 10)) == ["other", "spring"]
        assert uow.campaigns.list("initech", ANY, None, 10) == []
        assert uow.campaigns.count("acme", ANY) == 1 and uow.campaigns.count("globex", ANY) == 2
        assert uow.campaigns.count("acme", CampaignFilter.parse("labels.only:*")) == 0
        assert uow.campaigns.find_by_request_id("acme", "req-1") == (ours, "f-acme")
        assert uow.campaigns.find_by_request_id("globex", "req-1") == (theirs, "f-globex")
        assert uow.campaigns.find_by_request_id("initech", "req-1") is None
        assert uow.campaigns.get("acme", "spring").fields.labels == {"team": "growth"}


# -- add conflicts --------------------------------------------------------------------------------------


def test_duplicate_id_already_exists(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        with pytest.raises(AlreadyExists):
            uow.campaigns.add(campaign(display_name="Duplicate"))
        uow.campaigns.add(campaign("next"))  # the unit of work is still usable
        uow.commit()
    assert get(backend, "acme", "spring").fields.display_name == "Spring sale"
    assert get(backend, "acme", "next") is not None


def test_duplicate_request_id_already_exists(backend):
    add(backend, campaign(), request_id="req-1", fingerprint="f1")
    with backend.new_uow() as uow:
        with pytest.raises(AlreadyExists):
            uow.campaigns.add(campaign("other"), "req-1", "f2")
        uow.campaigns.add(campaign("third"), "req-2", "f3")
        uow.commit()
    with backend.new_uow() as uow:
        assert uow.campaigns.get("acme", "other") is None
        assert uow.campaigns.find_by_request_id("acme", "req-1") == (campaign(), "f1")
        assert uow.campaigns.find_by_request_id("acme", "req-2") == (campaign("third"), "f3")
        assert uow.campaigns.find_by_request_id("acme", "req-3") is None


def test_campaigns_without_request_id_do_not_conflict(backend):
    add(backend, campaign("a"), campaign("b"), campaign("c"))
    with backend.new_uow() as uow:
        assert uow.campaigns.count("acme", ANY) == 3
        assert uow.campaigns.find_by_request_id("acme", "") is None


# -- save -----------------------------------------------------------------------------------------------


def test_save_writes_the_changes(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.update(ready_fields(labels={"tier": "gold"}, display_name="Renamed"), {"labels", "display_name"},
                      LATER)
        loaded.transition("schedule", LATER)
        uow.campaigns.save(loaded, 1)
        uow.commit()
    saved = get(backend, "acme", "spring")
    assert saved == loaded
    assert (saved.version, saved.state, saved.fields.labels) == (3, State.SCHEDULED, {"tier": "gold"})
    assert saved.create_time == NOW and saved.update_time == LATER
    with backend.new_uow() as uow:  # the labels index follows
        assert uow.campaigns.count("acme", CampaignFilter.parse("labels.team:*")) == 0
        assert uow.campaigns.count("acme", CampaignFilter.parse("labels.tier = gold")) == 1


def test_save_with_a_stale_version_is_aborted_and_changes_nothing(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.update(ready_fields(labels={}, display_name="Renamed"), {"labels", "display_name"}, LATER)
        with pytest.raises(Aborted, match="workspaces/acme/campaigns/spring was changed by another request"):
            uow.campaigns.save(loaded, 5)
        uow.commit()
    assert get(backend, "acme", "spring") == campaign()
    assert [row[3] for row in backend.outbox()] == []


def test_save_of_a_missing_campaign_is_aborted(backend):
    with backend.new_uow() as uow:
        with pytest.raises(Aborted):
            uow.campaigns.save(campaign(), 1)


def test_concurrent_save_second_one_fails(backend):
    add(backend, campaign())
    first, second = backend.new_uow(), backend.new_uow()
    with first, second:
        a = first.campaigns.get("acme", "spring")
        b = second.campaigns.get("acme", "spring")
        a.update(ready_fields(display_name="First"), {"display_name"}, LATER)
        b.update(ready_fields(display_name="Second"), {"display_name"}, LATER)
        first.campaigns.save(a, 1)
        first.commit()
        with pytest.raises(Aborted):
            second.campaigns.save(b, 1)
    saved = get(backend, "acme", "spring")
    assert (saved.fields.display_name, saved.version) == ("First", 2)
    assert [row[3] for row in backend.outbox()] == ["campaign_updated"]


def test_uncommitted_changes_are_invisible_and_rolled_back(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("cancel", LATER)
        uow.campaigns.save(loaded, 1)
        uow.campaigns.add(campaign("new"))
        assert uow.campaigns.get("acme", "spring").state is State.CANCELLED  # its own writes, it sees
        assert get(backend, "acme", "new") is None  # nobody else does
    assert get(backend, "acme", "spring").state is State.DRAFT
    assert get(backend, "acme", "new") is None


# -- remove ---------------------------------------------------------------------------------------------


def test_remove(backend):
    add(backend, campaign(), campaign("other"))
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.delete(LATER)
        uow.campaigns.remove(loaded)
        uow.commit()
    assert get(backend, "acme", "spring") is None
    with backend.new_uow() as uow:
        assert ids(uow.campaigns.list("acme", CampaignFilter.parse("labels.team:*"), None, 10)) == ["other"]
    add(backend, campaign(labels={"team": "brand"}))  # the id (and its labels) are free again
    assert get(backend, "acme", "spring").fields.labels == {"team": "brand"}
    assert [row[3] for row in backend.outbox()] == ["campaign_deleted"]


def test_remove_of_a_stale_campaign_is_aborted(backend):
    add(backend, campaign())
    stale = campaign()
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("cancel", LATER)
        uow.campaigns.save(loaded, 1)
        uow.commit()
    with backend.new_uow() as uow:
        with pytest.raises(Aborted):
            uow.campaigns.remove(stale)
        uow.commit()
    assert get(backend, "acme", "spring").state is State.CANCELLED
    assert get(backend, "acme", "spring").fields.labels == {"team": "growth"}


def test_remove_rolled_back_keeps_the_campaign(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        uow.campaigns.remove(uow.campaigns.get("acme", "spring"))
    assert get(backend, "acme", "spring") == campaign()


# -- list and count -------------------------------------------------------------------------------------


def test_list_order_cursor_and_limit(backend):
    t0, t1, t2 = NOW, NOW + timedelta(microseconds=1), NOW + timedelta(days=1)
    # Added out of order; b1, b2, b3 share a create time, so the id decides.
    add(backend, campaign("c", created=t2), campaign("b3", created=t1), campaign("a9", created=t0),
        campaign("b1", created=t1), campaign("b2", created=t1))
    add(backend, campaign("zz", workspace="globex", created=t1))

    with backend.new_uow() as uow:
        repo = uow.campaigns
        assert ids(repo.list("acme", ANY, None, 100)) == ["a9", "b1", "b2", "b3", "c"]
        assert ids(repo.list("acme", ANY, None, 2)) == ["a9", "b1"]
        assert ids(repo.list("acme", ANY, (t1, "b1"), 2)) == ["b2", "b3"]
        assert ids(repo.list("acme", ANY, (t1, "b3"), 10)) == ["c"]
        assert ids(repo.list("acme", ANY, (t1, "b"), 10)) == ["b1", "b2", "b3", "c"]
        assert ids(repo.list("acme", ANY, (t0, "zzz"), 10)) == ["b1", "b2", "b3", "c"]
        assert ids(repo.list("acme", ANY, (t2, "c"), 10)) == []
        assert ids(repo.list("acme", ANY, (NOW - timedelta(days=1), "x"), 1)) == ["a9"]
        loaded = repo.list("acme", ANY, None, 100)
        assert loaded[-1] == campaign("c", created=t2)


# id: (state, labels)
DATASET = {
    "d1": (State.DRAFT, {"team": "growth", "tier": "gold"}),
    "d2": (State.DRAFT, {}),
    "r1": (State.RUNNING, {"team": "growth"}),
    "r2": (State.RUNNING, {"team": "brand", "tier": "silver"}),
    "p1": (State.PAUSED, {"tier": "gold"}),
    "x1": (State.CANCELLED, {"team": "growth", "tier": ""}),
}


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["d1", "d2", "r1", "r2", "p1", "x1"]),
    ("state = RUNNING", ["r1", "r2"]),
    ("state = STATE_DRAFT", ["d1", "d2"]),
    ("state = COMPLETED", []),
    ("state != DRAFT", ["r1", "r2", "p1", "x1"]),
    ("state != DRAFT AND state != RUNNING AND state != CANCELLED", ["p1"]),
    ("state = RUNNING AND state = DRAFT", []),
    ("labels.team = growth", ["d1", "r1", "x1"]),
    ("labels.tier = gold", ["d1", "p1"]),
    ("labels.tier = \"\"", ["x1"]),
    ("labels.team != growth", ["d2", "r2", "p1"]),  # a campaign without the label differs too
    ("labels.tier:*", ["d1", "r2", "p1", "x1"]),
    ("labels.nothing:*", []),
    ("labels.team = growth AND labels.tier:*", ["d1", "x1"]),
    ("state != DRAFT AND labels.team = growth", ["r1", "x1"]),
    ("labels.team != growth AND labels.team != brand", ["d2", "p1"]),
    ("state = RUNNING AND labels.tier != silver AND labels.team:*", ["r1"]),
])
def test_filters(backend, text, expected):
    for i, (campaign_id, (state, labels)) in enumerate(DATASET.items()):
        add(backend, campaign(campaign_id, state=state, labels=labels, created=NOW + timedelta(seconds=i)))
    add(backend, campaign("r1", workspace="globex", state=State.RUNNING, labels={"team": "growth", "tier": "gold"}))
    where = CampaignFilter.parse(text)

    with backend.new_uow() as uow:
        assert ids(uow.campaigns.list("acme", where, None, 100)) == expected
        assert uow.campaigns.count("acme", where) == len(expected)
        if len(expected) > 1:  # the cursor and the filter combine
            first = uow.campaigns.list("acme", where, None, 1)[0]
            assert ids(uow.campaigns.list("acme", where, (first.create_time, first.id), 100)) == expected[1:]


# -- the outbox -----------------------------------------------------------------------------------------


def test_events_are_written_to_the_outbox_on_commit(backend):
    created = Campaign.create("acme", "spring", ready_fields(), NOW)
    with backend.new_uow() as uow:
        uow.campaigns.add(created)
        uow.commit()
    assert created.events == []
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("schedule", LATER)
        loaded.update(ready_fields(display_name="Renamed"), {"display_name"}, LATER + timedelta(seconds=1))
        uow.campaigns.save(loaded, 1)
        uow.commit()

    assert backend.outbox() == [
        ("acme", "spring", 1, "campaign_created", {"display_name": "Spring sale"}),
        ("acme", "spring", 2, "campaign_scheduled", {"from_state": "DRAFT", "to_state": "SCHEDULED"}),
        ("acme", "spring", 3, "campaign_updated", {"paths": ["display_name"]}),
    ]


def test_rolled_back_changes_write_no_events(backend):
    with backend.new_uow() as uow:
        uow.campaigns.add(Campaign.create("acme", "spring", ready_fields(), NOW))
    assert backend.outbox() == []
    assert get(backend, "acme", "spring") is None


def test_events_are_written_once_when_a_campaign_is_stored_twice_in_a_unit_of_work(backend):
    with backend.new_uow() as uow:
        created = Campaign.create("acme", "spring", ready_fields(), NOW)
        uow.campaigns.add(created)
        created.transition("schedule", LATER)
        uow.campaigns.save(created, 1)
        uow.commit()
    assert [(row[2], row[3]) for row in backend.outbox()] == [(1, "campaign_created"), (2, "campaign_scheduled")]
    assert get(backend, "acme", "spring").state is State.SCHEDULED


SQL_ENGINES = ["sqlite_engine", pytest.param("postgres_engine", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_outbox_rows_are_unpublished_and_complete(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    add(backend, Campaign.create("acme", "spring", ready_fields(), NOW))
    with engine.connect() as connection:
        (row,) = connection.execute(select(campaign_outbox)).all()
    assert len(row.id) == 26 and row.published_time is None and row.occurred_time == NOW
    assert (row.workspace, row.aggregate_id, row.aggregate_version, row.event_type) == (
        "acme", "spring", 1, "campaign_created")


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_campaign_and_outbox_rows_commit_together(request, engine_fixture):
    """When the outbox insert fails, the campaign row must not have been committed on its own."""
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    created = Campaign.create("acme", "spring", ready_fields(), NOW)
    created.events[0].data["unserialisable"] = object()
    with backend.new_uow() as uow:
        uow.campaigns.add(created)
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
            uow.commit()
    assert get(backend, "acme", "spring") is None
    assert backend.outbox() == []


# -- the schema -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_migrations_match_the_tables_module(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert {"campaigns", "campaign_labels", "campaign_outbox", "alembic_version"} <= set(
            inspect(connection).get_table_names())

        # The comparison does see a difference when there is one.
        drifted = MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        drifted.tables["campaigns"].append_column(Column("priority", Integer))
        diff = compare_metadata(context, drifted)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "campaigns", "priority")]
