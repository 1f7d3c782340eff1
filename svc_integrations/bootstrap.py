"""Wires the integrations service: configuration -> engine -> API keys and the audit log ->
servicers (its own API and Envoy's ext_authz Check for API keys), and the consumer that
appends the other services' audit events to the log."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import grpc

from marketing.integrations.v1 import integrations_service_pb2_grpc
from svc_kit import migrations as relational
from svc_kit.bus.factory import make_bus
from svc_kit.clients import service_target
from svc_kit.clock import utcnow
from svc_kit.config import ConfigError, Settings
from svc_kit.ids import new_id
from svc_kit.clients import service_channel
from svc_kit.server import Mounted

from svc_integrations import config, migrate
from svc_integrations.adapters.audience_client import GrpcAudience
from svc_integrations.adapters.audit_store import SqlAuditStore
from svc_integrations.adapters.connection_store import SqlConnectionStore, SqlSyncStore
from svc_integrations.adapters.connectors import default_registry
from svc_integrations.adapters.credential_cipher import CredentialKeyError, FernetCipher, parse_keys
from svc_integrations.adapters.key_store import SqlKeyStore
from svc_integrations.adapters.platform_clients import GrpcEvents, GrpcProfiles
from svc_integrations.adapters.source_store import SqlSeenMessages, SqlSourceStore
from svc_integrations.adapters.guarded_http import SocketResolver
from svc_integrations.adapters.webhook_http import HttpxSender
from svc_integrations.adapters.webhook_metrics import WebhookMetrics
from svc_integrations.adapters.webhook_secrets import FernetSecretBox
from svc_integrations.adapters.webhook_store import SqlWebhookStore
from svc_integrations.domain import webhooks as webhook_domain
from svc_integrations.domain.webhooks import parse_schedule
from svc_integrations.entrypoints import ext_authz
from svc_integrations.entrypoints.audit_consumer import audit_consumer
from svc_integrations.entrypoints.grpc_servicer import IntegrationsServicer
from svc_integrations.entrypoints.sync_consumer import sync_change_consumer
from svc_integrations.entrypoints.sync_worker import SyncWorker
from svc_integrations.entrypoints.webhook_consumer import webhook_consumers
from svc_integrations.service_layer.api_keys import ApiKeys
from svc_integrations.service_layer.audit_log import AuditLog
from svc_integrations.service_layer.collect import Collector
from svc_integrations.service_layer.connections import Connections
from svc_integrations.service_layer.sources import Sources
from svc_integrations.service_layer.syncs import RunnerSettings, SyncRunner, Syncs
from svc_integrations.service_layer.webhook_delivery import DeliveryWorker
from svc_integrations.service_layer.webhooks import Webhooks, destination_problems

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


@dataclass
class _WebhooksMount:
    webhooks: Webhooks
    sender: HttpxSender
    resolver: SocketResolver
    mode: str
    start: Callable[[], None]
    stop: Callable[[], None]


def _mount_webhooks(settings: Settings, engine, bus) -> _WebhooksMount:
    """Outbound webhooks: the use cases, the consumers that turn bus events into deliveries, and
    the delivery worker (its own thread and event loop)."""
    env = settings.env
    mode = config.WEBHOOK_URL_POLICY.read(env).lower()
    try:
        schedule = parse_schedule(config.WEBHOOK_RETRY_SCHEDULE.read(env))
    except ValueError as error:
        raise ConfigError(f"{config.WEBHOOK_RETRY_SCHEDULE.name}: {error}") from None
    timeout = config.WEBHOOK_TIMEOUT.read(env)
    try:
        box = FernetSecretBox(parse_keys(config.WEBHOOK_SECRET_KEYS.read(env)), config.WEBHOOK_SECRET_KEYS.name)
    except CredentialKeyError as error:
        raise ConfigError(f"{config.WEBHOOK_SECRET_KEYS.name}: {error}") from None
    store = SqlWebhookStore(engine, box)
    resolver = SocketResolver()
    webhooks = Webhooks(store, resolver, utcnow, new_id, mode,
                        timedelta(seconds=config.WEBHOOK_SECRET_OVERLAP.read(env)))
    worker = DeliveryWorker(store, HttpxSender(timeout, mode=mode), resolver, utcnow,
                            owner=f"{socket.gethostname()}-{new_id()}", mode=mode, schedule=schedule, timeout=timeout,
                            per_endpoint=int(config.WEBHOOK_CONCURRENCY.read(env)),
                            poll_seconds=config.WEBHOOK_POLL.read(env), signals=WebhookMetrics())
    consumers = webhook_consumers(bus, engine, new_id, utcnow)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        for consumer in consumers:
            threads.append(threading.Thread(target=consumer.run, args=(stop,), name="webhook-events", daemon=True))
            threads[-1].start()
        threads.append(worker.run_in_thread(stop))

    def close() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=timeout + 5)
        for consumer in consumers:
            consumer.close()

    return _WebhooksMount(webhooks, HttpxSender(timeout, mode=mode), resolver, mode, start, close)


# --- connectors, connections and syncs (issue 16 part C) -----------------------------------------
class _Connections:
    """What _mount_connections wires: the servicer's arguments and the threads (the sync worker,
    the segment_updated consumer) with their start and stop."""

    def __init__(self, servicer_arguments: dict, runs: dict, wake, closers):
        self.servicer_arguments, self._wake, self._closers = servicer_arguments, wake, closers
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=run, args=(self._stop,), name=name, daemon=True)
                        for name, run in runs.items()]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        for thread in self.threads:
            thread.join(timeout=10)
        for close in self._closers:
            close()


def _mount_connections(settings: Settings, engine, bus) -> _Connections:
    try:
        cipher = FernetCipher(parse_keys(config.CREDENTIAL_KEYS.read(settings.env)))
    except CredentialKeyError as error:
        raise ConfigError(f"{config.CREDENTIAL_KEYS.name}: {error}") from None
    # Production mode (the webhooks' URL policy): connectors call public addresses only, checked on
    # create and update and again at every connect (adapters/guarded_http.py).
    mode = config.WEBHOOK_URL_POLICY.read(settings.env).lower()
    production = mode == webhook_domain.PRODUCTION
    resolver = SocketResolver()
    registry = default_registry(guarded=production)
    connections = Connections(SqlConnectionStore(engine), registry, cipher, utcnow, new_id,
                              url_check=(lambda uri, where: destination_problems(uri, mode, resolver, where))
                              if production else None)
    audience = GrpcAudience(lambda: grpc.insecure_channel(service_target(settings.env, "audience")))
    worker: SyncWorker | None = None
    syncs = Syncs(SqlSyncStore(engine), connections, utcnow, new_id, wake=lambda: worker and worker.wake.set())
    runner = SyncRunner(syncs, audience, owner=f"{socket.gethostname()}-{os.getpid()}-{new_id()[-6:]}",
                        settings=RunnerSettings(chunk_size=config.SYNC_CHUNK_SIZE.read(settings.env),
                                                lease=timedelta(seconds=config.SYNC_LEASE_SECONDS.read(settings.env))))
    worker = SyncWorker(runner, config.SYNC_POLL_SECONDS.read(settings.env))
    changes = sync_change_consumer(bus, engine)
    outbound = ThreadPoolExecutor(2, thread_name_prefix="integrations-outbound")
    return _Connections({"connections": connections, "syncs": syncs, "outbound": outbound},
                        {"sync-worker": worker.run, "sync-changes": changes.run},
                        worker.wake.set, [changes.close, lambda: outbound.shutdown(wait=False)])




def mount(settings: Settings) -> Mounted:
    engine = relational.open_engine(settings, migrate.MIGRATIONS, relational.migrate_on_start(settings))
    embedded = engine.url.get_backend_name() == "sqlite"
    executor = None if embedded else ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="integrations")
    keys = ApiKeys(SqlKeyStore(engine), utcnow, config.KEY_CACHE_SECONDS.read(settings.env))
    # This service's own write and admin calls go straight into its audit log (committed before
    # the response leaves); the other services' arrive as audit events through the inbox.
    audit = AuditLog(SqlAuditStore(engine), new_id)
    sources, collector = _mount_collect(settings, engine, executor)
    bus = make_bus(settings.env)
    hooks = _mount_webhooks(settings, engine, bus)
    part_c = _mount_connections(settings, engine, bus)
    servicer = IntegrationsServicer(keys, executor, audit, sources=sources, collector=collector,
                                    webhooks=hooks.webhooks, webhook_sender=hooks.sender,
                                    webhook_resolver=hooks.resolver, webhook_mode=hooks.mode,
                                    **part_c.servicer_arguments)
    consumer = audit_consumer(bus, engine)
    stop = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop,), name="audit-log", daemon=True)
    consuming.start()
    hooks.start()
    part_c.start()

    def register(server) -> None:
        integrations_service_pb2_grpc.add_IntegrationsServiceServicer_to_server(servicer, server)
        ext_authz.add_to_server(keys, server)

    def close() -> None:
        stop.set()
        hooks.stop()
        part_c.stop()
        consuming.join(timeout=10)
        consumer.close()
        bus.close()
        if executor is not None:
            executor.shutdown(wait=True)
        engine.dispose()

    return Mounted(register=register, close=close, audit=audit.append)
