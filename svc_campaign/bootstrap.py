"""Wires the campaign service: configuration -> engine -> unit of work -> servicer."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from marketing.campaign.v1 import campaign_service_pb2_grpc
from svc_kit.bus.factory import make_bus
from svc_kit.clients import service_channel, service_target
from svc_kit.clock import utcnow
from svc_kit.events.erasure import ErasureConsumer
from svc_kit.events.audit import OutboxAuditSink
from svc_kit.events.outbox import OutboxRelay, start_relay
from svc_kit.config import Settings
from svc_kit.ids import new_id
from svc_kit import migrations as relational
from svc_kit.server import Mounted

from svc_campaign import config, migrate
from svc_campaign.adapters.campaign_labels import SqlCampaignLabels
from svc_campaign.adapters.metrics import SchedulerMetrics
from svc_campaign.adapters.journey_store import SqlJourneys
from svc_campaign.adapters.peers import (REPORT_CHANNEL_OPTIONS, VARIANTS_TIMEOUT, GrpcAnalytics,
                                         GrpcJourneyAudience, GrpcJourneyIntegrations, GrpcJourneyNotify,
                                         GrpcTemplateVariants)
from svc_campaign.adapters import privacy
from svc_campaign.adapters.sql_unit_of_work import OUTBOX, SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_inbox
from svc_campaign.entrypoints.delivery_consumer import delivery_consumer
from svc_campaign.entrypoints.grpc_servicer import CampaignServicer
from svc_campaign.entrypoints.journeys import JourneyWorker, journey_consumers
from svc_campaign.entrypoints.launch_worker import LaunchWorker, lifecycle_consumer
from svc_campaign.entrypoints.scheduler import Scheduler
from svc_campaign.entrypoints.segment_cache_consumer import segment_cache_consumer
from svc_campaign.entrypoints.upkeep import Upkeep
from svc_campaign.service_layer.faults import LABEL, SagaFaults

WORKER_THREADS = 8
log = logging.getLogger("svc_campaign")


ERASURE_SUBSCRIPTION = "svc_campaign-erasure"


def build_servicer(engine: Engine, executor: ThreadPoolExecutor | None, clock=utcnow, ids=new_id,
                   on_commit=None, analytics=None, content=None, journey_webhooks=None,
                   journey_segments=None) -> CampaignServicer:
    def export_profile(workspace: str, profile: str) -> dict:
        with engine.connect() as connection:
            return privacy.export_profile(connection, workspace, profile)

    return CampaignServicer(lambda: SqlUnitOfWork(engine, on_commit), clock, ids, executor, analytics, content,
                            export_profile, journeys_tx=SqlJourneys(engine), journey_webhooks=journey_webhooks,
                            journey_segments=journey_segments)


def _mount_journeys(settings: Settings, bus, engine: Engine) -> tuple[list, JourneyWorker]:
    """Journeys (issue 17): the consumers of tracked events, segment changes and notify's message events,
    and the timer worker that sends through notify."""
    worker = JourneyWorker(engine, lambda: GrpcJourneyNotify(lambda: service_channel(settings.env, "notify")),
                           config.JOURNEY_POLL.read(settings.env), audience_factory=lambda: GrpcJourneyAudience(
                               lambda: service_channel(settings.env, "audience")),
                           integrations_factory=lambda: GrpcJourneyIntegrations(
                               lambda: service_channel(settings.env, "integrations")))
    return journey_consumers(bus, engine, worker.wake), worker


def open_engine(settings: Settings, migrate_schema: bool) -> Engine:
    return relational.open_engine(settings, migrate.MIGRATIONS, migrate_schema)


def mount(settings: Settings) -> Mounted:
    migrate_schema = relational.migrate_on_start(settings)
    engine = open_engine(settings, migrate_schema)
    embedded = engine.url.get_backend_name() == "sqlite"
    executor = None if embedded else ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="campaign")
    bus = make_bus(settings.env)
    relay = OutboxRelay(engine, OUTBOX, bus)
    service_target(settings.env, "analytics")  # a malformed MKT_ANALYTICS_TARGET stops the start
    analytics = GrpcAnalytics(lambda: service_channel(settings.env, "analytics", REPORT_CHANNEL_OPTIONS),
                              config.REPORT_DEADLINE.read(settings.env))
    # One process per SQLite file; replicas on PostgreSQL each run a scheduler (service_layer/scheduler.py).
    scheduler = Scheduler(lambda: SqlUnitOfWork(engine, relay.wake.set), utcnow, config.SCHEDULER_POLL.read(settings.env))
    scheduler.signals = SchedulerMetrics()

    upkeep = Upkeep(lambda: SqlUnitOfWork(engine, relay.wake.set), utcnow, config.UPKEEP_POLL.read(settings.env))

    def committed() -> None:
        relay.wake.set()
        scheduler.wake.set()  # a campaign (re)scheduled here may be due before the next poll

    content = GrpcTemplateVariants(lambda: service_channel(settings.env, "content"))  # an A/B test's variants
    # a journey's call_webhook steps: their webhooks checked at publish (short deadline, as the variants)
    webhooks = GrpcJourneyIntegrations(lambda: service_channel(settings.env, "integrations"), VARIANTS_TIMEOUT)
    # ... and the static segments of add_to_segment / remove_from_segment steps
    segments = GrpcJourneyAudience(lambda: service_channel(settings.env, "audience"), VARIANTS_TIMEOUT)
    servicer = build_servicer(engine, executor, on_commit=committed, analytics=analytics, content=content,
                              journey_webhooks=webhooks, journey_segments=segments)
    relay_thread, stop_relay = start_relay(relay)
    cache_consumer = segment_cache_consumer(bus, engine)
    lifecycle = lifecycle_consumer(bus, engine)
    deliveries = delivery_consumer(bus, engine)
    # profile_erased: the profile leaves the segment copy; profile_erasure_confirmed through the outbox.
    erasures = ErasureConsumer(bus, engine, campaign_inbox, OUTBOX, ERASURE_SUBSCRIPTION, "campaign",
                               privacy.erase_profile, relay.wake.set)
    page_size = config.LAUNCH_PAGE_SIZE.read(settings.env)
    faults = None
    if config.FAULT_INJECTION.read(settings.env):  # for tests only: see service_layer/faults.py
        log.warning("%s=true: campaigns labelled %s fail their launch on purpose; never set it in production",
                    config.FAULT_INJECTION.name, LABEL)
        faults = SagaFaults(SqlCampaignLabels(engine), page_size)
    launches = LaunchWorker(engine, settings.env, page_size, faults)
    journey_inboxes, journey_worker = _mount_journeys(settings, bus, engine)
    stop_background = threading.Event()
    background = [threading.Thread(target=cache_consumer.run, args=(stop_background,), name="segment-cache",
                                   daemon=True),
                  threading.Thread(target=lifecycle.run, args=(stop_background,), name="launch-plans", daemon=True),
                  threading.Thread(target=launches.run, args=(stop_background,), name="launches", daemon=True),
                  threading.Thread(target=scheduler.run, args=(stop_background,), name="scheduler", daemon=True),
                  threading.Thread(target=deliveries.run, args=(stop_background,), name="delivery-tally",
                                   daemon=True),
                  threading.Thread(target=upkeep.run, args=(stop_background,), name="upkeep", daemon=True),
                  threading.Thread(target=erasures.run, args=(stop_background,), name=ERASURE_SUBSCRIPTION,
                                   daemon=True),
                  threading.Thread(target=journey_worker.run, args=(stop_background,), name="journey-timers",
                                   daemon=True),
                  *(threading.Thread(target=c.run, args=(stop_background,), name=c.subscription, daemon=True)
                    for c in journey_inboxes)]
    for thread in background:
        thread.start()

    def close() -> None:
        stop_relay.set()
        stop_background.set()
        relay.wake.set()
        launches.wake.set()
        scheduler.wake.set()
        upkeep.wake.set()
        journey_worker.wake.set()
        relay_thread.join(timeout=10)
        for thread in background:
            thread.join(timeout=10)
        cache_consumer.consumer.close()
        lifecycle.consumer.close()
        deliveries.consumer.close()
        erasures.close()
        for consumer in journey_inboxes:
            consumer.close()
        relay.close()
        bus.close()
        if executor is not None:
            executor.shutdown(wait=True)
        engine.dispose()

    return Mounted(
        register=lambda server: campaign_service_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, server),
        close=close,
        audit=OutboxAuditSink(engine, OUTBOX, "svc_campaign", relay.wake.set),
    )
