"""Wires the notify service: configuration -> engine -> unit of work ->
servicer, the outbox relay (thread) and the dispatcher (its own event loop,
in a thread), with the audience and content services as gRPC clients."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from marketing.notify.v1 import notify_service_pb2_grpc
from svc_kit.bus.factory import make_bus
from svc_kit.clients import service_channel, service_target
from svc_kit.clock import utcnow
from svc_kit.config import Settings
from svc_kit.events.erasure import ErasureConsumer
from svc_kit.events.audit import OutboxAuditSink
from svc_kit.events.outbox import OutboxRelay, start_relay
from svc_kit import migrations as relational
from svc_kit.server import Mounted

from svc_notify import migrate
from svc_notify.adapters import privacy
from svc_notify.adapters.audience_client import GrpcAudience
from svc_notify.adapters.content_client import GrpcContent
from svc_notify.adapters.metrics import DeliveryMetrics
from svc_notify.adapters.delivery_tracing import OtelDeliveryTracing
from svc_notify.adapters.tables import notify_inbox
from svc_notify.adapters.registry import ProviderRegistry, Secrets
from svc_notify.adapters.sql_unit_of_work import OUTBOX, SqlUnitOfWork
from svc_notify.config import load
from svc_notify.entrypoints.grpc_servicer import NotifyServicer
from svc_notify.service_layer.dispatcher import Dispatcher, start_in_thread

WORKER_THREADS = 4
GIL_SWITCH_SECONDS = 0.001


ERASURE_SUBSCRIPTION = "svc_notify-erasure"


def _export(engine: Engine, workspace: str, profile: str) -> dict:
    with engine.connect() as connection:
        return privacy.export_profile(connection, workspace, profile)


def open_engine(settings: Settings, migrate_schema: bool) -> Engine:
    return relational.open_engine(settings, migrate.MIGRATIONS, migrate_schema)


def mount(settings: Settings) -> Mounted:
    config = load(settings)
    # The dispatcher's event loop waits on network round trips while worker threads write to the
    # database; a shorter GIL switch interval (default 5 ms) keeps those waits from stretching.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # The other services' addresses are checked now: a bad one stops the start.
    service_target(settings.env, "audience")
    service_target(settings.env, "content")
    engine = open_engine(settings, config.migrate_on_start)
    bus = make_bus(settings.env)
    relay = OutboxRelay(engine, OUTBOX, bus)
    relay_thread, stop_relay = start_relay(relay)
    secrets = Secrets(settings.env, config.secrets_dir)
    dispatcher = None
    dispatcher_thread = stop_dispatcher = None
    if config.dispatch:
        dispatcher = Dispatcher(
            lambda: SqlUnitOfWork(engine, relay.wake.set, dispatcher.wake),
            GrpcAudience(lambda: service_channel(settings.env, "audience")),
            GrpcContent(lambda: service_channel(settings.env, "content")),
            ProviderRegistry(secrets, config.default_smtp, config.public_base_url), config.dispatcher,
            signals=DeliveryMetrics(), tracing=OtelDeliveryTracing())
        dispatcher_thread, stop_dispatcher = start_in_thread(dispatcher)
    wake = dispatcher.wake if dispatcher is not None else None
    executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="notify")
    # TestProvider builds senders of its own, without a status callback: a test message reports nothing back.
    servicer = NotifyServicer(lambda: SqlUnitOfWork(engine, relay.wake.set, wake), utcnow, executor, secrets,
                              lambda: ProviderRegistry(secrets, status_callback_base=""), config.default_smtp,
                              config.link_signing_key, config.public_base_url,
                              callback_tolerance=config.callback_tolerance,
                              export_profile=lambda workspace, profile: _export(engine, workspace, profile),
                              signals=DeliveryMetrics())
    # profile_erased: the profile's messages and deliveries are anonymised, its inbox deleted, and
    # profile_erasure_confirmed goes out through the outbox (svc_kit.events.erasure).
    erasures = ErasureConsumer(bus, engine, notify_inbox, OUTBOX, ERASURE_SUBSCRIPTION, "notify",
                               privacy.erase_profile, relay.wake.set)
    stop_erasures = threading.Event()
    erasure_thread = threading.Thread(target=erasures.run, args=(stop_erasures,), name=ERASURE_SUBSCRIPTION,
                                      daemon=True)
    erasure_thread.start()

    def close() -> None:
        stop_erasures.set()
        erasure_thread.join(timeout=10)
        erasures.close()
        if stop_dispatcher is not None:
            stop_dispatcher()
            dispatcher_thread.join(timeout=30)
        executor.shutdown(wait=True)
        stop_relay.set()
        relay.wake.set()
        relay_thread.join(timeout=10)
        relay.close()
        bus.close()
        engine.dispose()

    return Mounted(
        register=lambda server: notify_service_pb2_grpc.add_NotifyServiceServicer_to_server(servicer, server),
        close=close,
        audit=OutboxAuditSink(engine, OUTBOX, "svc_notify", relay.wake.set),
    )
