"""Wires the integrations service: configuration -> engine -> API keys and the audit log ->
servicers (its own API and Envoy's ext_authz Check for API keys), and the consumer that
appends the other services' audit events to the log."""

from __future__ import annotations

import threading
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor

from marketing.integrations.v1 import integrations_service_pb2_grpc
from svc_kit import migrations as relational
from svc_kit.bus.factory import make_bus
from svc_kit.clock import utcnow
from svc_kit.config import Settings
from svc_kit.ids import new_id
from svc_kit.clients import service_channel
from svc_kit.server import Mounted

from svc_integrations import config, migrate
from svc_integrations.adapters.audit_store import SqlAuditStore
from svc_integrations.adapters.key_store import SqlKeyStore
from svc_integrations.adapters.platform_clients import GrpcEvents, GrpcProfiles
from svc_integrations.adapters.source_store import SqlSeenMessages, SqlSourceStore
from svc_integrations.entrypoints import ext_authz
from svc_integrations.entrypoints.audit_consumer import audit_consumer
from svc_integrations.entrypoints.grpc_servicer import IntegrationsServicer
from svc_integrations.service_layer.api_keys import ApiKeys
from svc_integrations.service_layer.audit_log import AuditLog
from svc_integrations.service_layer.collect import Collector
from svc_integrations.service_layer.sources import Sources

WORKER_THREADS = 4


def _mount_collect(settings: Settings, engine, executor) -> tuple[Sources, Collector]:
    """Event collection (Segment-compatible): sources and their write keys, the collector
    that upserts profiles in audience and ingests events in analytics."""
    sources = Sources(SqlSourceStore(engine), utcnow, config.KEY_CACHE_SECONDS.read(settings.env))
    collector = Collector(
        sources, SqlSeenMessages(engine),
        GrpcProfiles(lambda: service_channel(settings.env, "audience")),
        GrpcEvents(lambda: service_channel(settings.env, "analytics")),
        utcnow, new_id, timedelta(hours=config.COLLECT_DEDUP_HOURS.read(settings.env)), executor)
    return sources, collector


def mount(settings: Settings) -> Mounted:
    engine = relational.open_engine(settings, migrate.MIGRATIONS, relational.migrate_on_start(settings))
    embedded = engine.url.get_backend_name() == "sqlite"
    executor = None if embedded else ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="integrations")
    keys = ApiKeys(SqlKeyStore(engine), utcnow, config.KEY_CACHE_SECONDS.read(settings.env))
    # This service's own write and admin calls go straight into its audit log (committed before
    # the response leaves); the other services' arrive as audit events through the inbox.
    audit = AuditLog(SqlAuditStore(engine), new_id)
    sources, collector = _mount_collect(settings, engine, executor)
    servicer = IntegrationsServicer(keys, executor, audit, sources=sources, collector=collector)
    bus = make_bus(settings.env)
    consumer = audit_consumer(bus, engine)
    stop = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop,), name="audit-log", daemon=True)
    consuming.start()

    def register(server) -> None:
        integrations_service_pb2_grpc.add_IntegrationsServiceServicer_to_server(servicer, server)
        ext_authz.add_to_server(keys, server)

    def close() -> None:
        stop.set()
        consuming.join(timeout=10)
        consumer.close()
        bus.close()
        if executor is not None:
            executor.shutdown(wait=True)
        engine.dispose()

    return Mounted(register=register, close=close, audit=audit.append)
