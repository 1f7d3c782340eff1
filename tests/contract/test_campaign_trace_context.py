"""The campaign service keeps a launch in the trace that started it (SQLite and PostgreSQL): a campaign
the scheduler starts is parented to the call that scheduled it (its campaign_started outbox entry
carries that call's traceparent), and each step of a launch runs under a span whose parent is the
context the launch was planned in, so the saga's calls to audience, content and notify continue it."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from svc_campaign.adapters.launch_repository import SqlLaunchRepository, SqlLaunchStore
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.entrypoints.launch_worker import TracedLaunchRunner
from svc_campaign.service_layer import scheduler
from svc_campaign.service_layer.launch import follow_campaign
from svc_kit.trace_context import current_trace_headers
from svc_kit.tracing import add_span_processor, configure_tracing
from tests.contract.test_campaign_scheduler import START, At, scheduled
from tests.unit.campaign.test_handlers import Ids
from tests.unit.campaign.test_launch import FakeAudience, FakeContent, FakeNotify, profiles

_tracer = trace.get_tracer("test")


def _exporter() -> InMemorySpanExporter:
    configure_tracing("campaign", None)
    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def _started_properties(engine, campaign_id: str) -> dict:
    with engine.connect() as connection:
        rows = connection.execute(select(campaign_outbox.c.properties, campaign_outbox.c.event_id)
                                  .where(campaign_outbox.c.key == campaign_id)).all()
    return [p for p, _ in rows if p.get("event_type") == "campaign_started"][0]


def test_a_campaign_the_scheduler_starts_is_parented_to_the_call_that_scheduled_it(engine):
    _exporter()
    with _tracer.start_as_current_span("ScheduleCampaign call") as call:
        campaign_id = scheduled(engine, Ids())
    assert trace.get_current_span().get_span_context().is_valid is False  # the scheduler runs outside any call
    assert scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(START)) == 1
    context = call.get_span_context()
    traceparent = _started_properties(engine, campaign_id)["traceparent"]
    assert traceparent.split("-")[1:3] == [f"{context.trace_id:032x}", f"{context.span_id:016x}"]


class TracingAudience(FakeAudience):
    """Notes the trace each snapshot call is made in."""

    def __init__(self, members):
        super().__init__(members)
        self.traces: list[str] = []

    async def snapshot(self, segment, channel, snapshot_id, campaign):
        self.traces.append(current_trace_headers().get("traceparent", ""))
        return await super().snapshot(segment, channel, snapshot_id, campaign)


def test_every_step_of_a_launch_runs_in_the_trace_it_was_planned_in(engine):
    exporter = _exporter()
    campaign_id = scheduled(engine, Ids())
    scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(START))
    with _tracer.start_as_current_span("campaign_started process") as planning, engine.begin() as connection:
        follow_campaign(SqlCampaignRepository(connection), SqlLaunchRepository(connection),
                        {"workspace": "acme", "aggregate_id": campaign_id, "event_type": "campaign_started"}, START)
    store = SqlLaunchStore(engine)
    launch = store.get("acme", campaign_id)
    planned = planning.get_span_context()
    assert store.trace_headers(launch)["traceparent"].split("-")[1] == f"{planned.trace_id:032x}"

    audience = TracingAudience({"workspaces/acme/segments/vip": profiles("p", 5)})
    runner = TracedLaunchRunner(store, audience, FakeNotify(), At(START), FakeContent(), page_size=100)
    for _ in range(4):
        asyncio.run(runner.run_due())
    assert audience.traces and all(t.split("-")[1] == f"{planned.trace_id:032x}" for t in audience.traces)
    steps = [s for s in exporter.get_finished_spans() if s.name == "launch step"]
    assert steps and all(s.parent.span_id == planned.span_id and s.context.trace_id == planned.trace_id
                         for s in steps)
