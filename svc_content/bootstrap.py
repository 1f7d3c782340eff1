"""Wires the content service: configuration (svc_content.config) -> engine, blob
store, clients -> servicer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from marketing.content.v1 import content_service_pb2_grpc
from svc_kit.bus.factory import make_bus
from svc_kit.clients import service_channel, service_target
from svc_kit.clock import utcnow
from svc_kit.events.erasure import ErasureConsumer
from svc_kit.events.outbox import OutboxRelay, start_relay
from svc_kit.config import Settings
from svc_kit.ids import new_id
from svc_kit import migrations as relational
from svc_kit.server import Mounted, StartupError
from svc_kit.signing import keyring_from_env

from svc_content import config, migrate
from svc_content.adapters.blobstore import FilesystemBlobStore
from svc_content.adapters import campaign_copy, privacy
from svc_content.adapters.tables import content_inbox
from svc_content.adapters.directories import GrpcAudience
from svc_content.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_content.entrypoints.grpc_servicer import ContentServicer
from svc_content.service_layer.rendering import RenderService, run_in

WORKER_THREADS = 8
ERASURE_SUBSCRIPTION = "svc_content-erasure"
CPU_THREADS = 2


def open_engine(settings: Settings, migrate_schema: bool) -> Engine:
    return relational.open_engine(settings, migrate.MIGRATIONS, migrate_schema)


def mount(settings: Settings) -> Mounted:
    migrate_schema = relational.migrate_on_start(settings)
    link_key = keyring_from_env(settings.env)
    service_target(settings.env, "audience")  # a bad MKT_AUDIENCE_TARGET stops the start, not the first call
    base_url = config.public_base_url(settings.env)
    blob_dir = config.blob_dir(settings)
    engine = open_engine(settings, migrate_schema)
    embedded = engine.url.get_backend_name() == "sqlite"
    executor = None if embedded else ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="content")
    cpu = ThreadPoolExecutor(CPU_THREADS, thread_name_prefix="content-cpu")
    try:
        blobs = FilesystemBlobStore(blob_dir)
    except OSError as error:
        raise StartupError(f"blob directory {blob_dir}: {error.strerror}") from None
    audience = GrpcAudience(lambda: service_channel(settings.env, "audience"))
    campaigns = campaign_copy.LocalCampaigns(engine)
    bus = make_bus(settings.env)
    campaign_events = campaign_copy.consumer(bus, engine)
    stop_background = threading.Event()
    background = threading.Thread(target=campaign_events.run, args=(stop_background,), name="campaign-copy",
                                  daemon=True)
    background.start()
    # profile_erased: content stores nothing about a profile (adapters/privacy.py), and confirms so
    # through its outbox (profile_erasure_confirmed).
    relay = OutboxRelay(engine, privacy.OUTBOX, bus)
    relay_thread, stop_relay = start_relay(relay)
    erasures = ErasureConsumer(bus, engine, content_inbox, privacy.OUTBOX, ERASURE_SUBSCRIPTION, "content",
                               privacy.erase_profile, relay.wake.set)
    erasure_thread = threading.Thread(target=erasures.run, args=(stop_background,), name=ERASURE_SUBSCRIPTION,
                                      daemon=True)
    erasure_thread.start()

    def export_profile(workspace: str, profile: str) -> dict:
        with engine.connect() as connection:
            return privacy.export_profile(connection, workspace, profile)

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    renderer = RenderService(uow, audience, campaigns, link_key, base_url, run_in(cpu))
    servicer = ContentServicer(uow, renderer, blobs, campaigns, utcnow, new_id, base_url, executor, cpu,
                               export_profile)

    def close() -> None:
        stop_background.set()
        background.join(timeout=10)
        erasure_thread.join(timeout=10)
        campaign_events.consumer.close()
        erasures.close()
        stop_relay.set()
        relay.wake.set()
        relay_thread.join(timeout=10)
        relay.close()
        bus.close()
        if executor is not None:
            executor.shutdown(wait=True)
        cpu.shutdown(wait=True)
        engine.dispose()

    return Mounted(
        register=lambda server: content_service_pb2_grpc.add_ContentServiceServicer_to_server(servicer, server),
        close=close,
    )

