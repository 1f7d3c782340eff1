"""The thin gRPC layer of the analytics service: requests to use cases (run on the executor:
the event store's calls block), results to responses through entrypoints/mapping.py."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from google.api import httpbody_pb2
from google.protobuf import empty_pb2, json_format

from marketing.analytics.v1 import analytics_service_pb2 as pb
from marketing.analytics.v1 import analytics_service_pb2_grpc as pb_grpc
from svc_kit import privacy_rpc
from svc_kit.errors import FieldViolation, InvalidArgument, Unimplemented
from svc_kit.executor import run_blocking
from svc_kit.names import parent_field

from svc_analytics.domain.ingest import DEFAULT_RETENTION, check_count
from svc_analytics.domain.model import DEFAULT_ATTRIBUTION_WINDOW
from svc_analytics.entrypoints import mapping
from svc_analytics.service_layer import funnels
from svc_analytics.service_layer.events import aggregate_events, get_event, list_events
from svc_analytics.service_layer.export import report_csv_lines
from svc_analytics.service_layer.ingest import ingest_events
from svc_analytics.service_layer.ports import EventStore
from svc_analytics.service_layer.unit_of_work import UnitOfWork
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
    uow: Callable[[], UnitOfWork] | None = None  # funnels; None: the funnel RPCs answer UNIMPLEMENTED
    # (workspace, profile) -> the profile's stored events (access requests); None: UNIMPLEMENTED
    export_profile: Callable[[str, str], list] | None = None


class AnalyticsServicer(pb_grpc.AnalyticsServiceServicer):
    def __init__(self, deps: Dependencies):
        self.deps = deps

    async def _run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        return await run_blocking(self.deps.executor, lambda: fn(*args, **kwargs))

    async def ExportProfileData(self, request, context):
        workspace, profile = privacy_rpc.profile_field(request.name)
        if self.deps.export_profile is None:
            raise Unimplemented("ExportProfileData is not wired in this process")
        found = await self._run(self.deps.export_profile, workspace, profile)
        return privacy_rpc.profile_data("analytics", {"events": [
            json_format.MessageToDict(mapping.event_to_proto(e)) for e in found]})

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
        return mapping.event_to_proto(await self._run(get_event, self.deps.store, workspace, event_id))

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
        return httpbody_pb2.HttpBody(content_type="text/csv; charset=utf-8",
                                     data="".join(report_csv_lines(report)).encode())

    async def ListEvents(self, request: pb.ListEventsRequest, context):
        workspace = parent_field(request.parent)
        page = await self._run(list_events, self.deps.store, workspace, page_size=request.page_size,
                               page_token=request.page_token, filter_=request.filter)
        return pb.ListEventsResponse(events=[mapping.event_to_proto(e) for e in page.events],
                                     next_page_token=page.next_page_token)

    async def AggregateEvents(self, request: pb.AggregateEventsRequest, context):
        workspace = parent_field(request.parent)
        start, end = mapping.interval(request.interval)
        page = await self._run(aggregate_events, self.deps.store, workspace, start, end,
                               data_time=self.deps.clock(),
                               granularity=mapping.granularity_from_proto(request.granularity),
                               time_zone=request.time_zone,
                               group_by=tuple(mapping.dimensions_from_proto(request.group_by)),
                               filter_=request.filter, page_size=request.page_size, page_token=request.page_token)
        return pb.AggregateEventsResponse(rows=[mapping.aggregate_row_to_proto(workspace, r) for r in page.rows],
                                          next_page_token=page.next_page_token,
                                          data_time=mapping.timestamp(page.data_time))

    # -- funnels --------------------------------------------------------------------------------------

    def _uow(self) -> UnitOfWork:
        if self.deps.uow is None:
            raise Unimplemented("funnels need the analytics database, which this server was started without")
        return self.deps.uow()

    async def CreateFunnel(self, request: pb.CreateFunnelRequest, context):
        workspace = parent_field(request.parent)
        if not request.HasField("funnel"):
            raise InvalidArgument(FieldViolation("funnel", "required"))
        funnel = await self._run(funnels.create_funnel, workspace, mapping.funnel_fields_from_proto(request.funnel),
                                 self._uow(), self.deps.clock, funnel_id=request.funnel_id,
                                 request_id=request.request_id, validate_only=request.validate_only)
        return mapping.funnel_to_proto(funnel)

    async def GetFunnel(self, request: pb.GetFunnelRequest, context):
        workspace, funnel_id = mapping.funnel_name(request.name)
        return mapping.funnel_to_proto(await self._run(funnels.get_funnel, workspace, funnel_id, self._uow()))

    async def ListFunnels(self, request: pb.ListFunnelsRequest, context):
        workspace = parent_field(request.parent)
        page = await self._run(funnels.list_funnels, workspace, self._uow(), page_size=request.page_size,
                               page_token=request.page_token, filter_=request.filter)
        return pb.ListFunnelsResponse(funnels=[mapping.funnel_to_proto(f) for f in page.funnels],
                                      next_page_token=page.next_page_token)

    async def UpdateFunnel(self, request: pb.UpdateFunnelRequest, context):
        if not request.HasField("funnel"):
            raise InvalidArgument(FieldViolation("funnel", "required"))
        workspace, funnel_id = mapping.funnel_name(request.funnel.name, "funnel.name")
        funnel = await self._run(funnels.update_funnel, workspace, funnel_id,
                                 mapping.funnel_fields_from_proto(request.funnel), set(request.update_mask.paths),
                                 self._uow(), self.deps.clock, request.funnel.etag)
        return mapping.funnel_to_proto(funnel)

    async def DeleteFunnel(self, request: pb.DeleteFunnelRequest, context):
        workspace, funnel_id = mapping.funnel_name(request.name)
        await self._run(funnels.delete_funnel, workspace, funnel_id, self._uow(), request.etag)
        return empty_pb2.Empty()

    async def RunFunnel(self, request: pb.RunFunnelRequest, context):
        workspace, funnel_id = mapping.funnel_name(request.name)
        start, end = mapping.interval(request.interval)
        run = await self._run(funnels.run_funnel, workspace, funnel_id, start, end, self._uow(), self.deps.store,
                              self.deps.clock, request.filter)
        return pb.RunFunnelResponse(steps=[mapping.step_result_to_proto(s) for s in run.steps],
                                    interval=mapping.interval_to_proto(run.start, run.end),
                                    data_time=mapping.timestamp(run.data_time))
