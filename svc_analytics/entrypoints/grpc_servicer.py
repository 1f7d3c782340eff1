"""The thin gRPC layer of the analytics service: requests to use cases (run on the executor:
the event store's calls block), results to responses through entrypoints/mapping.py."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from google.api import httpbody_pb2

from marketing.analytics.v1 import analytics_service_pb2 as pb
from marketing.analytics.v1 import analytics_service_pb2_grpc as pb_grpc
from svc_kit.errors import NotFound
from svc_kit.executor import run_blocking
from svc_kit.names import parent_field

from svc_analytics.domain.ingest import DEFAULT_RETENTION, check_count
from svc_analytics.domain.model import DEFAULT_ATTRIBUTION_WINDOW
from svc_analytics.entrypoints import mapping
from svc_analytics.entrypoints.report_csv import report_csv
from svc_analytics.service_layer.ingest import ingest_events
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.reports import campaign_report
from svc_analytics.service_layer.writer import EventWriter

T = TypeVar("T")


@dataclass
class Dependencies:
    store: EventStore
    writer: EventWriter
    clock: Callable[[], datetime]
    executor: Executor | None
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW
    retention: timedelta = DEFAULT_RETENTION


class AnalyticsServicer(pb_grpc.AnalyticsServiceServicer):
    def __init__(self, deps: Dependencies):
        self.deps = deps

    async def _run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        return await run_blocking(self.deps.executor, lambda: fn(*args, **kwargs))

    async def IngestEvents(self, request: pb.IngestEventsRequest, context):
        workspace = parent_field(request.parent)
        check_count(len(request.events))
        drafts = [mapping.draft_from_proto(workspace, e) for e in request.events]
        result = await self._run(ingest_events, workspace, drafts, self.deps.writer, self.deps.clock,
                                 self.deps.retention, request.validate_only)
        return pb.IngestEventsResponse(accepted=result.accepted, duplicates=result.duplicates, rejected=[
            pb.RejectedEvent(index=r.index, event_id=r.event_id, field=r.field, reason=r.reason)
            for r in result.rejected])

    async def GetEvent(self, request: pb.GetEventRequest, context):
        workspace, event_id = mapping.event_name(request.name)
        event = await self._run(self.deps.store.get, workspace, event_id)
        if event is None:
            raise NotFound(request.name)
        return mapping.event_to_proto(event)

    async def _report(self, request):
        workspace, campaign = mapping.report_name(request.name)
        start, end = mapping.interval(request.interval)
        return await self._run(campaign_report, self.deps.store, workspace, campaign, self.deps.clock,
                               start=start, end=end, goal_type=request.conversion_event_type,
                               attribution_window=self.deps.attribution_window)

    async def GetCampaignReport(self, request: pb.GetCampaignReportRequest, context):
        return mapping.report_to_proto(await self._report(request))

    async def ExportCampaignReport(self, request: pb.ExportCampaignReportRequest, context):
        report = await self._report(request)
        return httpbody_pb2.HttpBody(content_type="text/csv; charset=utf-8", data=report_csv(report).encode())
