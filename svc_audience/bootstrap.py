"""Wires the audience service: configuration (svc_audience.config) -> MongoDB-wire
database -> servicer."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from marketing.audience.v1 import audience_service_pb2_grpc
from svc_kit.bus.factory import make_bus
from svc_kit.clients import service_channel
from svc_kit.events import erasure
from svc_kit.executor import run_blocking
from svc_kit.clock import utcnow_ms as utcnow
from svc_kit.events.mongo_outbox import MongoOutboxStore
from svc_kit.events.outbox import Relay
from svc_kit.ids import new_id
from svc_kit.config import Settings
from svc_kit.server import Mounted, StartupError
from svc_kit.signing import keyring_from_env

from svc_audience import config
from svc_audience.adapters import events, privacy
from svc_audience.adapters.erasure_store import ErasureStore
from svc_audience.adapters.privacy import PeerSections, json_of
from svc_audience.adapters.lookalike_store import LookalikeStore
from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes
from svc_audience.adapters.membership_store import MembershipStore
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.adapters.snapshot_store import SnapshotStore
from svc_audience.adapters.suppression_store import SuppressionStore, forget_profile_entries
from svc_audience.domain.erasure import SERVICES, ErasureRequest
from svc_audience.entrypoints.common import Dependencies
from svc_audience.entrypoints.consumers import (BehaviourConsumer, ConfirmationConsumer, DeliveryFeedbackConsumer,
                                                ErasureConsumer, UpkeepLoop)
from svc_audience.entrypoints.mapping import profile_to_proto
from svc_audience.entrypoints.suppression_rpcs import suppression_to_proto
from svc_audience.entrypoints.grpc_servicer import AudienceServicer
from svc_audience.service_layer.lookalike_fitting import LookalikeWorker
from svc_audience.service_layer.upkeep import SegmentUpkeep

log = logging.getLogger("svc_audience")
EMBEDDED_MONGO_PORT = config.MONGO_PORT.default
CONNECT_PATIENCE_SECONDS = 20.0
WORKER_THREADS = 8


def connect(url: str, database: str):
    """The database, with its indexes; waits a little for a server that is starting."""
    client = MongoClient(url, serverSelectionTimeoutMS=2000, tz_aware=True)
    deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
    while True:
        try:
            client.admin.command("ping")
            db = client[database]
            ensure_indexes(db)
            return client, db
        except PyMongoError as error:
            if time.monotonic() > deadline:
                client.close()
                raise StartupError(f"MongoDB-wire server {url} is out of reach: {error}") from None
            time.sleep(0.2)


def mount(settings: Settings) -> Mounted:
    link_signing_key = keyring_from_env(settings.env)  # checked first: a bad value stops the start
    client, database = connect(config.mongodb_url(settings), config.DATABASE.read(settings.env))
    executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="audience")
    repository = MongoProfileRepository(database)
    outbox = events.outbox(database)
    outbox.ensure_indexes()
    bus = make_bus(settings.env)
    relay = Relay(MongoOutboxStore(outbox), outbox.schemas, bus)

    erasure_requests = ErasureStore(database)
    erasure_requests.ensure_indexes()

    def record_erasure(profile) -> str:
        """The erasure request first (pending everywhere), then profile_erased: a confirmation
        always finds its request."""
        now = utcnow()
        entry = events.erasure_entry(profile, now)
        erasure_requests.create(ErasureRequest(profile.workspace, entry.event_id, profile.external_id, now))
        outbox.write([entry])
        relay.wake.set()
        return entry.event_id

    def record_unsubscribe(claims, now) -> None:
        outbox.write([events.unsubscribe_entry(claims, now)])
        relay.wake.set()

    segments = SegmentStore(database)
    segments.ensure_indexes()
    suppressions = SuppressionStore(database)
    suppressions.ensure_indexes()
    snapshots = SnapshotStore(database)
    snapshots.ensure_indexes()
    memberships = MembershipStore(database)
    memberships.ensure_indexes()

    def publish(entries) -> None:
        outbox.write(entries)
        relay.wake.set()

    upkeep = SegmentUpkeep(repository, segments, memberships, publish, utcnow)
    upkeep_loop = UpkeepLoop(upkeep, config.SEGMENT_REFRESH.read(settings.env))
    lookalikes = LookalikeStore(database)
    lookalikes.ensure_indexes()
    peers = PeerSections(lambda service: service_channel(settings.env, service))

    async def own_section(workspace: str, profile: str) -> dict:
        return await run_blocking(executor, privacy.audience_section, database, repository, suppressions,
                                  lambda p: json_of(profile_to_proto(p)), lambda s: json_of(suppression_to_proto(s)),
                                  workspace, profile)

    export_sections = [("audience", own_section)] + [(s, peers.section(s)) for s in SERVICES[1:]]
    lookalike_worker = LookalikeWorker(lookalikes, segments, utcnow, upkeep)  # resumes owed fits on start
    servicer = AudienceServicer(Dependencies(repository, segments, suppressions, snapshots, utcnow, new_id, executor,
                                             record_erasure, link_signing_key=link_signing_key,
                                             upkeep=upkeep, lookalikes=lookalikes,
                                             wake_lookalike_worker=lookalike_worker.wake.set,
                                             record_unsubscribe=record_unsubscribe,
                                             erasures=erasure_requests, export_sections=export_sections))
    stop = threading.Event()
    def confirm_erasure(erasure_, counts) -> None:
        """audience's own part done: entries whose subject is the profile go too, then the
        confirmation goes out like every other service's."""
        counts = {**counts, "suppressions": forget_profile_entries(suppressions, erasure_.workspace,
                                                                   erasure_.profile)}
        publish([erasure.confirmation_entry(erasure_, "audience", counts)])

    erasures = ErasureConsumer(bus, repository, snapshots, upkeep, confirm_erasure)
    confirmations = ConfirmationConsumer(bus, erasure_requests)
    behaviour = BehaviourConsumer(bus, repository, utcnow)
    feedback = DeliveryFeedbackConsumer(bus, suppressions, utcnow, new_id)  # notify's bounces and complaints
    threads = [threading.Thread(target=relay.run, args=(stop,), name="outbox-relay", daemon=True),
               threading.Thread(target=erasures.run, args=(stop,), name="erasures", daemon=True),
               threading.Thread(target=confirmations.run, args=(stop,), name="erasure-confirmations", daemon=True),
               threading.Thread(target=behaviour.run, args=(stop,), name="behaviour", daemon=True),
               threading.Thread(target=feedback.run, args=(stop,), name="delivery-feedback", daemon=True),
               threading.Thread(target=upkeep_loop.run, args=(stop,), name="segment-upkeep", daemon=True),
               threading.Thread(target=lookalike_worker.run, args=(stop,), name="lookalike-fitting", daemon=True)]
    for thread in threads:
        thread.start()

    def close() -> None:
        stop.set()
        relay.wake.set()
        upkeep_loop.wake.set()
        lookalike_worker.wake.set()
        for thread in threads:
            thread.join(timeout=10)
        erasures.consumer.close()
        confirmations.consumer.close()
        behaviour.consumer.close()
        feedback.consumer.close()
        relay.close()
        bus.close()
        executor.shutdown(wait=True)
        client.close()

    return Mounted(
        register=lambda server: audience_service_pb2_grpc.add_AudienceServiceServicer_to_server(servicer, server),
        close=close,
    )
