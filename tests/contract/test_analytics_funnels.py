"""The analytics service's relational storage contracts: funnel and erasure
repositories on SQLite and PostgreSQL (through the unit of work), the funnel
use cases on them, and the Alembic migrations against the tables modules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from svc_kit.errors import Aborted, AlreadyExists

from svc_analytics import migrate
from svc_analytics.adapters import funnel_tables  # noqa: F401 - its tables join the metadata
from svc_analytics.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_analytics.adapters.tables import metadata
from svc_analytics.domain.erasure import Erasure
from svc_analytics.domain.funnel import Funnel, FunnelFields, FunnelFilter, FunnelStep
from svc_analytics.domain.model import StoredEvent
from svc_analytics.service_layer import funnels as use_cases
from svc_analytics.service_layer.erasure import erase_profile, erasure_status
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures
from tests.fakes_analytics import InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
sqlite_engine, postgres_engine = engine_fixtures("analytics", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request):
    return empty_tables(request.getfixturevalue(request.param), metadata)


@pytest.fixture
def uow(engine):
    return SqlUnitOfWork(engine)


def funnel(funnel_id="checkout", workspace="acme", created=NOW, labels=None, **kw) -> Funnel:
    fields = FunnelFields(**({"display_name": "Checkout", "description": "Click to purchase",
                              "steps": (FunnelStep("message_clicked", "Clicked"), FunnelStep("purchase")),
                              "conversion_window": timedelta(days=3, hours=4),
                              "labels": {"team": "growth"} if labels is None else labels} | kw))
    return Funnel.create(workspace, funnel_id, fields, created)


def add(uow, *funnels_: Funnel, request_id="", fingerprint=""):
    with uow:
        for f in funnels_:
            uow.funnels.add(f, request_id, fingerprint)
        uow.commit()


def test_a_funnel_reads_back_as_written(uow):
    made = funnel()
    add(uow, made, request_id="r1", fingerprint="fp")
    with uow:
        assert uow.funnels.get("acme", "checkout") == made
        assert uow.funnels.get("globex", "checkout") is None
        assert uow.funnels.find_by_request_id("acme", "r1") == (made, "fp")
        assert uow.funnels.find_by_request_id("globex", "r1") is None


def test_ids_and_request_ids_are_unique_per_workspace(uow):
    add(uow, funnel(), request_id="r1")
    add(uow, funnel(workspace="globex"), request_id="r1")
    with pytest.raises(AlreadyExists):
        add(uow, funnel())
    with pytest.raises(AlreadyExists):
        add(uow, funnel("other"), request_id="r1")
    add(uow, funnel("third"), request_id="")
    add(uow, funnel("fourth"), request_id="")


def test_save_and_remove_check_the_version(uow):
    add(uow, funnel())
    with uow:
        stored = uow.funnels.get("acme", "checkout")
    stale = stored.version
    stored.update(FunnelFields(display_name="Renamed"), {"display_name"}, NOW + timedelta(hours=1))
    with uow:
        uow.funnels.save(stored, stale)
        uow.commit()
    with uow:
        assert uow.funnels.get("acme", "checkout") == stored
        with pytest.raises(Aborted):
            uow.funnels.save(stored, stale)
        with pytest.raises(Aborted):
            uow.funnels.remove(stored, stale)
        uow.funnels.remove(stored, stored.version)
        uow.commit()
    with uow:
        assert uow.funnels.get("acme", "checkout") is None


def test_a_rolled_back_unit_of_work_leaves_nothing(uow):
    with uow:
        uow.funnels.add(funnel())
    with uow:
        assert uow.funnels.get("acme", "checkout") is None


def test_list_in_creation_order_after_a_cursor_with_a_label_filter(uow, monkeypatch):
    from svc_analytics.adapters.funnel_repository import SqlFunnelRepository
    monkeypatch.setattr(SqlFunnelRepository, "SCAN", 2)  # the filter is applied across several reads
    same_time = [funnel(f"f{i}", created=NOW, labels={"team": "growth" if i % 2 else "ops"}) for i in range(5)]
    later = funnel("a-later", created=NOW + timedelta(minutes=1))
    add(uow, later, *reversed(same_time), funnel("x", workspace="globex"))
    everything = FunnelFilter()
    with uow:
        assert [f.id for f in uow.funnels.list("acme", everything, None, 10)] == ["f0", "f1", "f2", "f3", "f4",
                                                                                  "a-later"]
        assert [f.id for f in uow.funnels.list("acme", everything, (NOW, "f2"), 2)] == ["f3", "f4"]
        growth = FunnelFilter.parse("labels.team = growth")
        assert [f.id for f in uow.funnels.list("acme", growth, None, 10)] == ["f1", "f3", "a-later"]
        assert [f.id for f in uow.funnels.list("acme", growth, (NOW, "f1"), 1)] == ["f3"]
        assert [f.id for f in uow.funnels.list("acme", FunnelFilter.parse("labels.team != growth"), None, 10)] == [
            "f0", "f2", "f4"]
        assert uow.funnels.list("acme", FunnelFilter.parse("labels.tier:*"), None, 10) == []


def test_the_use_cases_on_the_database(uow):
    clock = iter(NOW + timedelta(seconds=i) for i in range(100)).__next__
    fields = FunnelFields("Checkout", steps=(FunnelStep("message_clicked"), FunnelStep("purchase")))
    made = use_cases.create_funnel("acme", fields, uow, clock, request_id="r1")
    assert use_cases.create_funnel("acme", fields, uow, clock, request_id="r1") == made
    updated = use_cases.update_funnel("acme", made.id, FunnelFields(labels={"team": "growth"}), {"labels"}, uow,
                                      clock, etag=made.etag)
    assert use_cases.get_funnel("acme", made.id, uow) == updated and updated.version == 2
    with pytest.raises(Aborted):
        use_cases.delete_funnel("acme", made.id, uow, etag=made.etag)
    page = use_cases.list_funnels("acme", uow, filter_="labels.team = growth")
    assert [f.id for f in page.funnels] == [made.id]
    use_cases.delete_funnel("acme", made.id, uow, etag=updated.etag)
    assert use_cases.list_funnels("acme", uow).funnels == []


def test_concurrent_creates_with_one_request_id_make_one_funnel(engine):
    fields = FunnelFields("Checkout", steps=(FunnelStep("message_clicked"), FunnelStep("purchase")))
    results, errors = [], []

    def create():
        try:
            results.append(use_cases.create_funnel("acme", fields, SqlUnitOfWork(engine), lambda: NOW,
                                                   request_id="same"))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len({f.id for f in results}) == 1


def test_erasure_records(uow):
    with uow:
        uow.erasures.put(Erasure("acme", "alice@example.com", NOW))
        uow.commit()
    with uow:
        assert uow.erasures.get("acme", "alice@example.com") == Erasure("acme", "alice@example.com", NOW)
        assert uow.erasures.get("globex", "alice@example.com") is None
        uow.erasures.put(Erasure("acme", "alice@example.com", NOW, NOW + timedelta(minutes=1), 0))
        uow.commit()
    with uow:
        assert uow.erasures.get("acme", "alice@example.com").complete_time == NOW + timedelta(minutes=1)


def test_erasure_use_cases_on_the_database(uow):
    store = InMemoryEventStore(asynchronous_erasure=True)
    store.insert([StoredEvent("acme", "e1", "purchase", NOW, NOW, profile="alice")])
    erase_profile("acme", "alice", store, uow, lambda: NOW)
    pending = erasure_status("acme", "alice", store, uow, lambda: NOW)
    assert (pending.complete, pending.remaining_events) == (False, 1)
    store.complete_erasures()
    assert erasure_status("acme", "alice", store, uow, lambda: NOW + timedelta(hours=1)).complete
    with uow:
        assert uow.erasures.get("acme", "alice").complete_time == NOW + timedelta(hours=1)


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_migrations_match_the_tables(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert {"analytics_funnels", "analytics_erasures", "alembic_version"} <= set(
            inspect(connection).get_table_names())
