"""Wires the analytics service: configuration -> event store (chdb in the state folder, or a
ClickHouse server by MKT_ANALYTICS_CLICKHOUSE_URL) and relational database (inbox, outbox;
MKT_ANALYTICS_DATABASE_URL) -> batching writer -> servicer and bus consumers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from marketing.analytics.v1 import analytics_service_pb2_grpc
from svc_kit import migrations as relational
from svc_kit.bus.factory import make_bus
from svc_kit.clock import utcnow
from svc_kit.config import Settings
from svc_kit.events import erasure
from svc_kit.events.outbox import Outbox, OutboxRelay, start_relay
from svc_kit.server import Mounted, StartupError

from svc_analytics import config, migrate
from svc_analytics.adapters.columnar_event_store import ColumnarEventStore
from svc_analytics.adapters.sql_engines import open_engine
from svc_analytics.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_analytics.adapters.tracked_events import OUTBOX, OutboxTrackedEvents
from svc_analytics.entrypoints.consumers import audience_consumer, campaign_consumer, notify_consumer
from svc_analytics.entrypoints.grpc_servicer import AnalyticsServicer, Dependencies
from svc_analytics.service_layer.enrichment import EnrichmentSettings
from svc_analytics.service_layer.erasure import erase_for_confirmation
from svc_analytics.service_layer.events import profile_events
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.writer import EventWriter

WORKER_THREADS = 8
CHDB_FOLDER = "analytics-chdb"
ERASE_SETTLE_SECONDS = 30.0  # an erasure waits this long for ClickHouse's deletions before it is retried


def store_url(settings: Settings) -> str:
    return config.CLICKHOUSE_URL.read(settings.env) or f"chdb://{settings.state_dir / CHDB_FOLDER}"


def open_store(settings: Settings) -> EventStore:
    url = store_url(settings)
    try:
        store = ColumnarEventStore(open_engine(url))
        store.migrate()
    except Exception as error:  # noqa: BLE001 - any driver error: one line, not a traceback
        raise StartupError(f"analytics event store {url.split('@')[-1]} cannot be opened: "
                           f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
                           ) from None
    return store


def mount(settings: Settings, store: EventStore | None = None) -> Mounted:
    """The service; `store` replaces the configured event store (tests)."""
    engine = relational.open_engine(settings, migrate.MIGRATIONS, relational.migrate_on_start(settings))
    store = store if store is not None else open_store(settings)
    bus = make_bus(settings.env)
    relay = OutboxRelay(engine, Outbox(OUTBOX.table, {**OUTBOX.schemas, **erasure.SCHEMAS}), bus)
    enrichment = EnrichmentSettings(
        attribution_window=timedelta(days=config.ATTRIBUTION_WINDOW.read(settings.env)),
        machine_delay=timedelta(seconds=config.MACHINE_DELAY.read(settings.env)))
    batch_size = config.BATCH_SIZE.read(settings.env)
    writer = EventWriter(store, OutboxTrackedEvents(engine, relay.wake), enrichment, max_batch=batch_size,
                         max_delay=config.BATCH_DELAY.read(settings.env))
    writer.start()
    executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="analytics")
    servicer = AnalyticsServicer(Dependencies(store, writer, utcnow, executor,
                                              attribution_window=enrichment.attribution_window,
                                              uow=lambda: SqlUnitOfWork(engine),
                                              export_profile=lambda w, p: profile_events(w, p, store)))

    def settle() -> None:
        """Waits (bounded) for the store's pending deletions, where the store has them."""
        wait = getattr(store, "wait_for_mutations", None)
        if wait is not None:
            wait("events", ERASE_SETTLE_SECONDS)

    def write(events) -> None:
        writer.write(events, tracked=False)

    consumers = [notify_consumer(bus, engine, write, utcnow, batch_size),
                 campaign_consumer(bus, engine, write, utcnow, batch_size),
                 audience_consumer(bus, engine, write, store,
                                   lambda workspace, profile: erase_for_confirmation(
                                       workspace, profile, store, SqlUnitOfWork(engine), utcnow, settle),
                                   utcnow, relay.wake.set)]
    relay_thread, stop_relay = start_relay(relay)
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,), name=c.subscription, daemon=True) for c in consumers]
    for thread in threads:
        thread.start()

    def close() -> None:
        stop.set()
        stop_relay.set()
        relay.wake.set()
        for thread in threads:
            thread.join(timeout=10)
        relay_thread.join(timeout=10)
        for consumer in consumers:
            consumer.close()
        writer.close()
        relay.close()
        bus.close()
        executor.shutdown(wait=True)
        store_close = getattr(store, "close", None)
        if store_close is not None:
            store_close()
        engine.dispose()

    return Mounted(
        register=lambda server: analytics_service_pb2_grpc.add_AnalyticsServiceServicer_to_server(servicer, server),
        close=close,
    )
