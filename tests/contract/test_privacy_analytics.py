"""analytics' part of privacy requests: its audience consumer, fed through a real bus, erases the
profile's events in the event store (chdb, and ClickHouse 18.16 where the server is available)
and, once none remain, confirms through its outbox (SQLite and PostgreSQL), once per event; the
same profile id in another workspace keeps its events; the export lists the events, then none.
And, with a store whose deletions lag, no confirmation goes out while events remain."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.errors import Unavailable
from svc_kit.events import erasure
from svc_kit.events.outbox import Outbox

from svc_analytics import migrate
from svc_analytics.adapters.columnar_event_store import ColumnarEventStore
from svc_analytics.adapters.sql_engines import EmbeddedChdb
from svc_analytics.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_analytics.adapters.tables import analytics_outbox, metadata
from svc_analytics.domain.model import StoredEvent
from svc_analytics.entrypoints.consumers import audience_consumer
from svc_analytics.service_layer.erasure import erase_for_confirmation
from svc_analytics.service_layer.events import profile_events
from tests.contract.privacy_helpers import confirmations, profile_erased
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures
from tests.fakes_analytics import InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OUTBOX = Outbox(analytics_outbox, erasure.SCHEMAS)

sqlite_engine, postgres_engine = engine_fixtures("analytics", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def engine(request) -> Engine:
    return empty_tables(request.getfixturevalue(request.param), metadata)


@pytest.fixture(scope="module", params=["chdb", "clickhouse"])
def store(request, tmp_path_factory):
    if request.param == "clickhouse":
        request.applymarker(pytest.mark.clickhouse)
        server = request.getfixturevalue("clickhouse_server")
        store = ColumnarEventStore.from_url(server.database_url(f"t_privacy_{os.getpid()}_{uuid.uuid4().hex[:6]}"))
    else:
        store = ColumnarEventStore(EmbeddedChdb(tmp_path_factory.mktemp("chdb")))
    store.migrate()
    yield store
    if request.param == "clickhouse":
        store.engine.execute(f"DROP DATABASE IF EXISTS {store.engine.database}")
    store.close()


def events(workspace: str, profile: str, count: int) -> list[StoredEvent]:
    return [StoredEvent(workspace, f"{profile}-{uuid.uuid4().hex[:8]}", "purchase", NOW - timedelta(minutes=n),
                        NOW, profile=profile) for n in range(count)]


def test_the_consumer_erases_the_events_and_confirms_once(engine, store, tmp_path):
    ws, other = f"ws-{uuid.uuid4().hex[:8]}", f"ws-{uuid.uuid4().hex[:8]}"
    store.insert(events(ws, "ann", 3) + events(ws, "bob", 1) + events(other, "ann", 2))
    assert len(profile_events(ws, "ann", store)) == 3

    def erase(workspace, profile):
        return erase_for_confirmation(workspace, profile, store, SqlUnitOfWork(engine), lambda: NOW,
                                      lambda: store.wait_for_mutations("events", 30))

    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    try:
        consumer = audience_consumer(bus, engine, lambda rows: None, store, erase, lambda: NOW)
        producer = bus.producer(erasure.PROFILE_TOPIC, erasure.PROFILE_SCHEMA)
        erased = profile_erased(ws, "ann")
        for record in (erased, erased):
            producer.send("ann", record)
        while consumer.poll(0.2, 1, 0):
            pass
        consumer.close()
    finally:
        bus.close()

    assert profile_events(ws, "ann", store) == []
    assert len(profile_events(ws, "bob", store)) == 1 and len(profile_events(other, "ann", store)) == 2
    [confirmation] = confirmations(engine, OUTBOX)
    assert confirmation["workspace"] == ws and confirmation["aggregate_id"] == erased["event_id"]
    assert confirmation["payload"] == {"profile": f"workspaces/{ws}/profiles/ann", "erasure": erased["event_id"],
                                       "service": "analytics", "counts": {"events": 3}}


def test_no_confirmation_while_events_remain(engine):
    lagging = InMemoryEventStore(asynchronous_erasure=True)
    lagging.insert(events("acme", "ann", 2))
    with pytest.raises(Unavailable, match="2 events"):
        erase_for_confirmation("acme", "ann", lagging, SqlUnitOfWork(engine), lambda: NOW)
    lagging.complete_erasures()
    assert erase_for_confirmation("acme", "ann", lagging, SqlUnitOfWork(engine), lambda: NOW) == {"events": 0}
