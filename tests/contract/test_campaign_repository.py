"""One contract, three implementations: the in-memory fake, SQLAlchemy on
SQLite and SQLAlchemy on PostgreSQL. Each test runs against all three, through
the unit of work of its implementation; whatever the fake promises the unit
tests, the real adapters keep."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from opentelemetry import trace
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, select
from sqlalchemy.exc import IntegrityError

import event_schemas
from svc_kit.errors import Aborted, AlreadyExists
from svc_kit.events.outbox import OutboxEntry

from svc_campaign import migrate
from svc_campaign.adapters import event_codec
from svc_campaign.adapters.tables import campaign_events, campaign_outbox, metadata
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.domain.model import Campaign, CampaignFields
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Schedule, State
from svc_campaign.adapters.sql_unit_of_work import OUTBOX, SqlUnitOfWork
from svc_campaign.service_layer.unit_of_work import UnitOfWork
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures
from tests.fakes import NOW, FakeDatabase, FakeUnitOfWork, ready_fields

ANY = CampaignFilter()
LATER = NOW + timedelta(hours=1)
SCHEMA = event_schemas.load("campaign.v1")


@dataclass
class Backend:
    name: str
    new_uow: Callable[[], UnitOfWork]
    outbox: Callable[[], list[CampaignEvent]]  # the committed outbox entries, read back, in commit order


# -- the implementations --------------------------------------------------------------------------------


sqlite_engine, postgres_engine = engine_fixtures("campaign", migrate.upgrade)


def _sql_backend(name: str, engine: Engine) -> Backend:
    empty_tables(engine, metadata)  # every test starts on empty tables

    def outbox() -> list[CampaignEvent]:
        with engine.connect() as connection:
            rows = connection.execute(select(campaign_outbox).order_by(campaign_outbox.c.position))
            return [event_codec.event_from_envelope(SCHEMA.decode(row.value)) for row in rows]

    return Backend(name, lambda: SqlUnitOfWork(engine), outbox)


def _fake_backend() -> Backend:
    database = FakeDatabase()
    return Backend("fake", lambda: FakeUnitOfWork(database), lambda: list(database.outbox))


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


def history(backend: Backend, workspace: str = "acme", campaign_id: str = "spring", **kwargs) -> list[CampaignEvent]:
    with backend.new_uow() as uow:
        return uow.campaigns.history(workspace, campaign_id, **kwargs)


def create(backend: Backend, campaign_id: str = "spring", workspace: str = "acme", now=NOW,
           **changes) -> list[CampaignEvent]:
    """Creates a campaign (with its campaign_created event) in a unit of work of its own; its events."""
    created = Campaign.create(workspace, campaign_id, ready_fields(workspace, **changes), now)
    events = list(created.events)
    add(backend, created)
    return events


def change(backend: Backend, workspace: str, campaign_id: str, *operations) -> list[CampaignEvent]:
    """Applies `operations` (callables on the loaded campaign) in one unit of work; the events it commits."""
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get(workspace, campaign_id)
        expected = loaded.version
        for operation in operations:
            operation(loaded)
        events = list(loaded.events)
        if loaded.deleted:
            uow.campaigns.remove(loaded, expected)
        else:
            uow.campaigns.save(loaded, expected)
        uow.commit()
    return events


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
    assert backend.outbox() == [] and history(backend) == []


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
        first_events = list(a.events)
        first.campaigns.save(a, 1)
        first.commit()
        with pytest.raises(Aborted):
            second.campaigns.save(b, 1)
    saved = get(backend, "acme", "spring")
    assert (saved.fields.display_name, saved.version) == ("First", 2)
    assert backend.outbox() == history(backend) == first_events


def test_uncommitted_changes_are_invisible_and_rolled_back(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("cancel", LATER)
        uow.campaigns.save(loaded, 1)
        uow.campaigns.add(campaign("new"))
        assert uow.campaigns.get("acme", "spring").state is State.CANCELLED  # its own writes, it sees
        assert [e.type for e in uow.campaigns.history("acme", "spring")] == ["campaign_cancelled"]
        assert get(backend, "acme", "new") is None  # nobody else does
        assert history(backend) == []
    assert get(backend, "acme", "spring").state is State.DRAFT
    assert get(backend, "acme", "new") is None
    assert history(backend) == [] and backend.outbox() == []


# -- remove ---------------------------------------------------------------------------------------------


def test_remove(backend):
    add(backend, campaign(), campaign("other"))
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.delete(LATER)
        deleted = list(loaded.events)
        uow.campaigns.remove(loaded, 1)
        assert uow.campaigns.get("acme", "spring") is None
        uow.commit()
    assert get(backend, "acme", "spring") is None
    with backend.new_uow() as uow:  # gone from the current view, its labels index included
        assert ids(uow.campaigns.list("acme", CampaignFilter.parse("labels.team:*"), None, 10)) == ["other"]
        assert uow.campaigns.count("acme", ANY) == 1
    assert [(e.type, e.version, e.occurred_at, e.data) for e in deleted] == [
        ("campaign_deleted", 2, LATER, {"last_state": "DRAFT"})]
    assert backend.outbox() == history(backend) == deleted


def test_remove_of_a_stale_campaign_is_aborted_and_changes_nothing(backend):
    add(backend, campaign())
    stale = campaign()
    cancelled = change(backend, "acme", "spring", lambda c: c.transition("cancel", LATER))
    stale.delete(LATER)
    with backend.new_uow() as uow:
        with pytest.raises(Aborted, match="workspaces/acme/campaigns/spring was changed by another request"):
            uow.campaigns.remove(stale, 1)
        uow.commit()
    assert get(backend, "acme", "spring").state is State.CANCELLED
    assert get(backend, "acme", "spring").fields.labels == {"team": "growth"}
    with backend.new_uow() as uow:  # the labels index still finds it
        assert uow.campaigns.count("acme", CampaignFilter.parse("labels.team = growth")) == 1
    assert backend.outbox() == history(backend) == cancelled


def test_remove_rolled_back_keeps_the_campaign(backend):
    add(backend, campaign())
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.delete(LATER)
        uow.campaigns.remove(loaded, 1)
    assert get(backend, "acme", "spring") == campaign()
    assert history(backend) == [] and backend.outbox() == []


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
    "f1": (State.FAILED, {}),
}


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["d1", "d2", "r1", "r2", "p1", "x1", "f1"]),
    ("state = STATE_FAILED", ["f1"]),
    ("state = RUNNING", ["r1", "r2"]),
    ("state = STATE_DRAFT", ["d1", "d2"]),
    ("state = COMPLETED", []),
    ("state != DRAFT", ["r1", "r2", "p1", "x1", "f1"]),
    ("state != DRAFT AND state != RUNNING AND state != CANCELLED", ["p1", "f1"]),
    ("state = RUNNING AND state = DRAFT", []),
    ("labels.team = growth", ["d1", "r1", "x1"]),
    ("labels.tier = gold", ["d1", "p1"]),
    ("labels.tier = \"\"", ["x1"]),
    ("labels.team != growth", ["d2", "r2", "p1", "f1"]),  # a campaign without the label differs too
    ("labels.tier:*", ["d1", "r2", "p1", "x1"]),
    ("labels.nothing:*", []),
    ("labels.team = growth AND labels.tier:*", ["d1", "x1"]),
    ("state != DRAFT AND labels.team = growth", ["r1", "x1"]),
    ("labels.team != growth AND labels.team != brand", ["d2", "p1", "f1"]),
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


# -- the event stream -----------------------------------------------------------------------------------


def minute(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def _spring_with_neighbours(backend: Backend) -> list[CampaignEvent]:
    """acme/spring through four units of work, an event a minute (versions 1-6 at minutes 0-5), next to
    globex/spring and acme/other with histories of their own. The events of acme/spring, by version."""
    events = create(backend, now=minute(0))
    create(backend, workspace="globex", now=minute(0))
    create(backend, "other", now=minute(0))
    events += change(backend, "acme", "spring",
                     lambda c: c.update(ready_fields(display_name="Renamed"), {"display_name"}, minute(1)),
                     lambda c: c.update(ready_fields(schedule=Schedule(end_time=NOW + timedelta(days=30))),
                                        {"schedule.end_time"}, minute(2)))
    change(backend, "globex", "spring", lambda c: c.transition("cancel", minute(2)))
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("schedule", minute(3))
        loaded.transition("start", minute(4))
        events += loaded.events
        loaded.events.reverse()  # appended newest first: the stream's insertion order is not its version order
        uow.campaigns.save(loaded, 3)
        uow.commit()
    events += change(backend, "acme", "spring", lambda c: c.transition("pause", minute(5)))
    return events


def test_history_is_the_campaigns_events_in_version_order(backend):
    events = _spring_with_neighbours(backend)

    assert [e.version for e in events] == [1, 2, 3, 4, 5, 6]
    assert history(backend) == events
    assert [e.type for e in history(backend, "globex", "spring")] == ["campaign_created", "campaign_cancelled"]
    assert [e.type for e in history(backend, "acme", "other")] == ["campaign_created"]
    assert history(backend, "initech", "spring") == [] and history(backend, "acme", "nothing") == []
    # The projection is what the history folds into.
    assert Campaign.replay(history(backend)) == get(backend, "acme", "spring")


def test_history_filters_by_time_and_version(backend):
    events = _spring_with_neighbours(backend)

    assert history(backend, until=minute(2)) == events[:3]  # at `until` is included
    assert history(backend, until=minute(2) - timedelta(microseconds=1)) == events[:2]
    assert history(backend, until=minute(2).astimezone(timezone(timedelta(hours=-5)))) == events[:3]
    assert history(backend, until=NOW - timedelta(seconds=1)) == []
    assert history(backend, after_version=2) == events[2:]
    assert history(backend, after_version=6) == []
    assert history(backend, limit=2) == events[:2]
    assert history(backend, limit=0) == []
    assert history(backend, after_version=1, limit=2) == events[1:3]
    assert history(backend, until=minute(4), after_version=3) == events[3:5]
    assert history(backend, until=minute(4), after_version=2, limit=1) == events[2:3]


def test_a_removed_campaign_keeps_its_history_ending_in_its_deletion(backend):
    events = create(backend)
    events += change(backend, "acme", "spring", lambda c: c.transition("schedule", LATER),
                     lambda c: c.transition("cancel", LATER))
    events += change(backend, "acme", "spring", lambda c: c.delete(minute(61)))

    assert get(backend, "acme", "spring") is None
    stored = history(backend)
    assert stored == events
    assert [(e.type, e.version) for e in stored] == [("campaign_created", 1), ("campaign_scheduled", 2),
                                                     ("campaign_cancelled", 3), ("campaign_deleted", 4)]
    assert stored[-1].data == {"last_state": "CANCELLED"}
    replayed = Campaign.replay(stored)
    assert (replayed.deleted, replayed.state, replayed.version) == (True, State.CANCELLED, 4)
    before = Campaign.replay(history(backend, until=LATER))  # as it was before the deletion
    assert (before.deleted, before.state, before.version) == (False, State.CANCELLED, 3)


def test_a_removed_campaigns_id_cannot_start_a_second_history(backend):
    events = create(backend)
    events += change(backend, "acme", "spring", lambda c: c.delete(LATER))
    with backend.new_uow() as uow:
        with pytest.raises(AlreadyExists, match="workspaces/acme/campaigns/spring already exists"):
            uow.campaigns.add(Campaign.create("acme", "spring", ready_fields(display_name="Again"), LATER))
        uow.campaigns.add(Campaign.create("acme", "next", ready_fields(), LATER))  # the unit of work still works
        uow.commit()
    assert get(backend, "acme", "spring") is None
    assert history(backend) == events
    assert [e.type for e in history(backend, "acme", "next")] == ["campaign_created"]
    assert [e.campaign_id for e in backend.outbox()] == ["spring", "spring", "next"]


def test_a_second_writer_of_a_version_is_aborted_and_stores_nothing(backend):
    created = create(backend)
    first, second = backend.new_uow(), backend.new_uow()
    with first, second:
        a = first.campaigns.get("acme", "spring")
        b = second.campaigns.get("acme", "spring")
        a.update(ready_fields(display_name="First"), {"display_name"}, LATER)
        b.update(ready_fields(display_name="Second"), {"display_name"}, LATER)
        first_events = list(a.events)
        assert [e.version for e in a.events] == [e.version for e in b.events] == [2]
        first.campaigns.save(a, 1)
        first.commit()
        with pytest.raises(Aborted, match="was changed by another request"):
            second.campaigns.save(b, 1)
    saved = get(backend, "acme", "spring")
    assert (saved.fields.display_name, saved.version) == ("First", 2)
    assert history(backend) == backend.outbox() == created + first_events


def test_the_stream_refuses_a_version_it_holds_even_when_the_projection_check_passes(backend):
    """The stream's unique (workspace, campaign_id, version) is a guard of its own: here the projection's
    version check passes (the expected version names the row as it is now), but the stream already holds
    version 2, so the second writer is refused and nothing of it is stored."""
    created = create(backend)
    stale = get(backend, "acme", "spring")  # read at version 1
    first = change(backend, "acme", "spring",
                   lambda c: c.update(ready_fields(display_name="First"), {"display_name"}, LATER))
    stale.update(ready_fields(display_name="Second"), {"display_name"}, LATER)  # version 2 again

    with pytest.raises(Aborted, match="was changed by another request"):
        with backend.new_uow() as uow:  # as a handler runs it: the error leaves the unit of work
            uow.campaigns.save(stale, 2)
            uow.commit()

    saved = get(backend, "acme", "spring")
    assert (saved.fields.display_name, saved.version) == ("First", 2)
    assert history(backend) == backend.outbox() == created + first


# -- the outbox -----------------------------------------------------------------------------------------


def test_events_are_written_to_the_outbox_on_commit(backend):
    created = Campaign.create("acme", "spring", ready_fields(), NOW)
    events = list(created.events)
    with backend.new_uow() as uow:
        uow.campaigns.add(created)
        assert backend.outbox() == []  # not before the commit
        uow.commit()
    assert created.events == []
    with backend.new_uow() as uow:
        loaded = uow.campaigns.get("acme", "spring")
        loaded.transition("schedule", LATER)
        loaded.update(ready_fields(display_name="Renamed"), {"display_name"}, LATER + timedelta(seconds=1))
        events += loaded.events
        uow.campaigns.save(loaded, 1)
        uow.commit()

    assert [(e.workspace, e.campaign_id, e.version, e.type, e.data) for e in events] == [
        ("acme", "spring", 1, "campaign_created", {"fields": ready_fields()}),
        ("acme", "spring", 2, "campaign_scheduled", {"from_state": "DRAFT", "to_state": "SCHEDULED"}),
        ("acme", "spring", 3, "campaign_updated", {"paths": ["display_name"],
                                                   "fields": ready_fields(display_name="Renamed")}),
    ]
    assert backend.outbox() == events
    assert history(backend) == events


def test_rolled_back_changes_write_no_events(backend):
    kept = create(backend, "kept")
    with backend.new_uow() as uow:
        uow.campaigns.add(Campaign.create("acme", "spring", ready_fields(), NOW))
        loaded = uow.campaigns.get("acme", "kept")
        loaded.transition("cancel", LATER)
        uow.campaigns.save(loaded, 1)
        other = Campaign.create("acme", "gone", ready_fields(), NOW)
        uow.campaigns.add(other)
        other.delete(LATER)
        uow.campaigns.remove(other, 1)
    assert backend.outbox() == kept
    assert history(backend, campaign_id="kept") == kept
    assert history(backend) == [] and history(backend, campaign_id="gone") == []
    assert get(backend, "acme", "spring") is None and get(backend, "acme", "kept").state is State.DRAFT


def test_events_are_written_once_when_a_campaign_is_stored_twice_in_a_unit_of_work(backend):
    with backend.new_uow() as uow:
        created = Campaign.create("acme", "spring", ready_fields(), NOW)
        uow.campaigns.add(created)
        created.transition("schedule", LATER)
        uow.campaigns.save(created, 1)
        uow.commit()
    assert [(e.version, e.type) for e in backend.outbox()] == [(1, "campaign_created"), (2, "campaign_scheduled")]
    assert [(e.version, e.type) for e in history(backend)] == [(1, "campaign_created"), (2, "campaign_scheduled")]
    assert get(backend, "acme", "spring").state is State.SCHEDULED


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _rows(engine: Engine, table) -> list:
    with engine.connect() as connection:
        return connection.execute(select(table).order_by(table.c.position)).all()


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_outbox_rows_decode_to_the_events_in_commit_order(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    with backend.new_uow() as uow:  # two campaigns in one unit of work: in the order they were stored
        b = Campaign.create("globex", "b", ready_fields("globex"), NOW)
        a = Campaign.create("acme", "a", ready_fields(), NOW)
        committed = b.events + a.events
        uow.campaigns.add(b)
        uow.campaigns.add(a)
        uow.commit()
    committed += change(backend, "acme", "a", lambda c: c.transition("schedule", LATER),
                        lambda c: c.transition("start", LATER))
    committed += change(backend, "globex", "b", lambda c: c.transition("cancel", LATER), lambda c: c.delete(LATER))
    committed += change(backend, "acme", "a", lambda c: c.update(ready_fields(labels={}), {"labels"}, LATER))

    rows = _rows(engine, campaign_outbox)

    assert len(rows) == len(committed) == 7
    for row, event in zip(rows, committed, strict=True):
        envelope = SCHEMA.decode(row.value)
        assert (row.event_id, row.topic, row.key) == (event.event_id, event_codec.TOPIC, event.campaign_id)
        assert (envelope["event_id"], envelope["aggregate_id"], envelope["aggregate_version"],
                envelope["event_type"], envelope["workspace"], envelope["occurred_at"], envelope["producer"]) == (
            event.event_id, event.campaign_id, event.version, event.type, event.workspace, event.occurred_at,
            "svc_campaign")
        assert event_codec.event_from_envelope(envelope) == event
        assert row.properties == {"event_type": event.type, "workspace": event.workspace}
        assert row.published_time is None and row.created_time is not None


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_stream_rows_are_complete(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    created = Campaign.create("acme", "spring", ready_fields(), NOW)
    events = list(created.events)
    add(backend, created, request_id="req-1", fingerprint="f1")
    events += change(backend, "acme", "spring", lambda c: c.transition("cancel", LATER))

    rows = _rows(engine, campaign_events)

    # The request id and fingerprint of the create stay with its event (the replay restores them from there).
    assert [(r.event_id, r.workspace, r.campaign_id, r.version, r.event_type, r.occurred_time, r.producer,
             r.request_id, r.request_fingerprint, r.traceparent) for r in rows] == [
        (events[0].event_id, "acme", "spring", 1, "campaign_created", NOW, "svc_campaign", "req-1", "f1", None),
        (events[1].event_id, "acme", "spring", 2, "campaign_cancelled", LATER, "svc_campaign", None, None, None),
    ]
    assert [r.payload for r in rows] == [event_codec.payload_record(e) for e in events]


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_the_trace_context_of_a_change_travels_with_its_events(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    context = trace.SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=False,
                                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    with trace.use_span(trace.NonRecordingSpan(context)):
        create(backend, "traced")
    create(backend, "untraced")

    traced, untraced = _rows(engine, campaign_outbox)

    assert traced.properties == {"traceparent": TRACEPARENT, "event_type": "campaign_created", "workspace": "acme"}
    assert SCHEMA.decode(traced.value)["traceparent"] == TRACEPARENT
    assert untraced.properties == {"event_type": "campaign_created", "workspace": "acme"}
    assert SCHEMA.decode(untraced.value)["traceparent"] is None
    assert [r.traceparent for r in _rows(engine, campaign_events)] == [TRACEPARENT, None]


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_campaign_stream_and_outbox_rows_commit_together(request, engine_fixture):
    """When the outbox insert fails, neither the campaign row nor its events may have been committed."""
    engine = request.getfixturevalue(engine_fixture)
    backend = _sql_backend(engine_fixture, engine)
    created = Campaign.create("acme", "spring", ready_fields(), NOW)
    (event,) = created.events
    with engine.begin() as connection:  # an outbox row already holds the event's id
        OUTBOX.write(connection, [OutboxEntry(event.event_id, event_codec.TOPIC, "squatter",
                                              event_codec.envelope(event), {})])
    with backend.new_uow() as uow:
        uow.campaigns.add(created)
        with pytest.raises(IntegrityError):
            uow.commit()
    assert get(backend, "acme", "spring") is None
    assert history(backend) == [] and _rows(engine, campaign_events) == []
    assert [row.key for row in _rows(engine, campaign_outbox)] == ["squatter"]


# -- the schema -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_migrations_match_the_tables_module(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert {"campaigns", "campaign_labels", "campaign_events", "campaign_outbox", "alembic_version"} <= set(
            inspect(connection).get_table_names())

        # The comparison does see a difference when there is one.
        drifted = MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        drifted.tables["campaigns"].append_column(Column("priority", Integer))
        diff = compare_metadata(context, drifted)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "campaigns", "priority")]
