"""The launch saga's two threads: one follows the campaign's own events into
launch plans (through the inbox), one advances due launches by talking to the
audience, content and notify services (and the analytics service for an A/B
test's figures)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping

from opentelemetry import propagate, trace
from sqlalchemy import Engine

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.clients import service_channel
from svc_kit.clock import utcnow
from svc_kit.events.inbox import InboxConsumer

from svc_campaign.adapters.event_codec import TOPIC
from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.metrics import SchedulerMetrics
from svc_campaign.adapters.peers import GrpcAbTestFigures, GrpcAudience, GrpcContent, GrpcNotify
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.tables import campaign_inbox
from svc_campaign.service_layer.faults import SagaFaults
from svc_campaign.domain.launch import Launch
from svc_campaign.service_layer.launch import PAGE_SIZE, LaunchRunner, follow_campaign

log = logging.getLogger("svc_campaign.launch")
SUBSCRIPTION = "svc_campaign-launch"
IDLE_SECONDS = 0.5
_tracer = trace.get_tracer("svc_campaign.launch")


class TracedLaunchRunner(LaunchRunner):
    """Runs each step of a launch as a child of the trace the launch was planned in (the consumer span of
    its campaign_started, itself a child of the call that started the campaign), so the saga's calls to
    audience, content and notify belong to that call's trace."""

    def __init__(self, store: SqlLaunchStore, *args, **kwargs):
        super().__init__(store, *args, **kwargs)
        self.traces = store

    async def step(self, launch: Launch) -> Launch:
        parent = propagate.extract(self.traces.trace_headers(launch))
        with _tracer.start_as_current_span("launch step", context=parent, attributes={
                "marketing.campaign": launch.name, "marketing.launch.run": launch.run}):
            return await super().step(launch)


def lifecycle_consumer(bus: Bus, engine: Engine) -> InboxConsumer:
    return InboxConsumer(bus, engine, campaign_inbox, TOPIC, SUBSCRIPTION, event_schemas.load("campaign.v1"),
                         lambda connection, event, message: follow_campaign(
                             SqlCampaignRepository(connection), SqlLaunchRepository(connection), event, utcnow()))


class LaunchWorker:
    def __init__(self, engine: Engine, env: Mapping[str, str], page_size: int = PAGE_SIZE,
                 faults: SagaFaults | None = None):
        self.store = SqlLaunchStore(engine)
        self.env = env
        self.page_size = page_size
        self.faults = faults  # for tests only (MKT_CAMPAIGN_FAULT_INJECTION); None otherwise
        self.wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        audience, notify = service_channel(self.env, "audience"), service_channel(self.env, "notify")
        content, analytics = service_channel(self.env, "content"), service_channel(self.env, "analytics")
        runner = TracedLaunchRunner(self.store, GrpcAudience(audience), GrpcNotify(notify), utcnow,
                                    GrpcContent(content), page_size=self.page_size,
                                    figures=GrpcAbTestFigures(analytics), faults=self.faults,
                                    signals=SchedulerMetrics())
        try:
            while not stop.is_set():
                try:
                    moved = await runner.run_due()
                except Exception:  # noqa: BLE001 - the launch's saved step is where the next pass starts
                    log.exception("launch pass failed; retrying")
                    moved = 0
                if not moved:
                    await asyncio.get_running_loop().run_in_executor(None, self.wake.wait, IDLE_SECONDS)
                    self.wake.clear()
        finally:
            await audience.close()
            await notify.close()
            await content.close()
            await analytics.close()
