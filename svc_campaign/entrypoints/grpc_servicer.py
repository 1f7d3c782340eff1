"""The thin gRPC layer: requests to commands, handler results to responses.

Handlers are synchronous (SQLAlchemy). With a networked database they run on
worker threads so the event loop keeps serving other calls while one waits;
with the embedded SQLite file (`executor=None`) a call costs less than the
thread hand-off would, so they run inline."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from google.protobuf import empty_pb2

from marketing.campaign.v1 import campaign_service_pb2 as pb
from marketing.campaign.v1 import campaign_pb2, campaign_stats_pb2
from marketing.campaign.v1 import campaign_service_pb2_grpc as pb_grpc
from svc_kit import privacy_rpc
from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, Unimplemented
from svc_kit.executor import run_blocking
from svc_kit.names import name_field, parent_field

from svc_campaign.domain import commands
from svc_campaign.domain.events import STATE_EVENTS
from svc_campaign.domain.model import TRANSITIONS, Campaign
from svc_campaign.entrypoints.journey_api import JourneyApi
from svc_campaign.entrypoints.mapping import (campaign_audience_to_proto, campaign_event_to_proto,
                                              campaign_launch_to_proto, campaign_to_proto, delivery_to_stats,
                                              fields_from_proto, update_paths)
from svc_campaign.service_layer import audience, handlers, launch, upkeep
from svc_campaign.service_layer.ports import ContentPort, ReportingDegraded, ReportingPort
from svc_campaign.service_layer.unit_of_work import UnitOfWork

T = TypeVar("T")
log = logging.getLogger("svc_campaign.api")


def _name(value: str, field: str = "name") -> tuple[str, str]:
    return name_field(value, "campaigns", field)


def _child_name(value: str, child: str, field: str = "name") -> tuple[str, str]:
    """(workspace, campaign id) of `workspaces/{w}/campaigns/{c}/{child}`."""
    campaign, slash, rest = value.rpartition("/")
    if not slash or rest != child:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/campaigns/"
                                                    f"{{campaign}}/{child}`"))
    return _name(campaign, field)


def _instant(stamp, field: str) -> datetime:
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(FieldViolation(field, "is not a valid timestamp")) from None


class CampaignServicer(JourneyApi, pb_grpc.CampaignServiceServicer):
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: handlers.Clock, new_id: handlers.IdFactory,
                 executor: Executor | None, analytics: ReportingPort | None = None,
                 content: ContentPort | None = None, export_profile: Callable[[str, str], dict] | None = None,
                 journeys_tx=None, journey_webhooks=None, journey_segments=None):
        self.uow = uow_factory
        self.journey_webhooks = journey_webhooks  # call_webhook steps' webhooks checked at publish; None: not
        self.journey_segments = journey_segments  # static segment steps' segments checked at publish; None: not
        self.journeys_tx = journeys_tx  # journeys' Transaction (service_layer/journey_ports.py); None: UNIMPLEMENTED
        self.export_profile = export_profile  # (workspace, profile) -> what campaign holds on the profile
        self.clock = clock
        self.new_id = new_id
        self.executor = executor
        self.analytics = analytics  # None: reporting is always degraded
        self.content = content  # None: an A/B test's variants are checked at the launch's preflight only

    async def _run(self, fn: Callable[..., T], *args) -> T:
        return await run_blocking(self.executor, fn, *args)

    async def ExportProfileData(self, request, context):
        workspace, profile = privacy_rpc.profile_field(request.name)
        if self.export_profile is None:
            raise Unimplemented("ExportProfileData is not wired in this process")
        return privacy_rpc.profile_data("campaign", await self._run(self.export_profile, workspace, profile))

    async def _shown(self, campaigns: list[Campaign]) -> list[campaign_pb2.Campaign]:
        """The campaigns as the API shows them, each with its A/B test's decision once made (kept on its
        launch: read only for campaigns with a test)."""
        tested = [(c.workspace, c.id) for c in campaigns if c.fields.ab_test is not None and c.state.value not in
                  ("DRAFT", "SCHEDULED")]
        decisions = await self._run(launch.ab_test_decisions, tested, self.uow()) if tested else {}
        return [campaign_to_proto(c, decisions.get((c.workspace, c.id))) for c in campaigns]

    async def _one(self, campaign: Campaign) -> campaign_pb2.Campaign:
        return (await self._shown([campaign]))[0]

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context):
        workspace = parent_field(request.parent)
        if not request.HasField("campaign"):
            raise InvalidArgument(FieldViolation("campaign", "required"))
        cmd = commands.CreateCampaign(workspace, fields_from_proto(request.campaign), request.campaign_id,
                                      request.request_id, request.validate_only)
        campaign = await self._run(handlers.create_campaign, cmd, self.uow(), self.clock, self.new_id)
        return campaign_to_proto(campaign)

    async def GetCampaign(self, request: pb.GetCampaignRequest, context):
        workspace, campaign_id = _name(request.name)
        as_of = _instant(request.as_of, "as_of") if request.HasField("as_of") else None
        campaign = await self._run(handlers.get_campaign, workspace, campaign_id, self.uow(), as_of)
        # the decision is kept on the launch, as of now only
        return campaign_to_proto(campaign) if as_of is not None else await self._one(campaign)

    async def ListCampaignEvents(self, request: pb.ListCampaignEventsRequest, context):
        workspace, campaign_id = _name(request.parent, "parent")
        page = await self._run(handlers.list_campaign_events, workspace, campaign_id, request.page_size,
                               request.page_token, self.uow())
        return pb.ListCampaignEventsResponse(
            events=[campaign_event_to_proto(event, campaign) for event, campaign in page.entries],
            next_page_token=page.next_page_token,
        )

    async def GetCampaignAudience(self, request: pb.GetCampaignAudienceRequest, context):
        workspace, campaign_id = _child_name(request.name, "audience")
        found = await self._run(audience.get_audience, workspace, campaign_id, self.uow())
        return campaign_audience_to_proto(found)

    async def ListCampaignAudienceMembers(self, request: pb.ListCampaignAudienceMembersRequest, context):
        workspace, campaign_id = _child_name(request.parent, "audience", "parent")
        members, token = await self._run(audience.list_members, workspace, campaign_id, request.page_size,
                                         request.page_token, self.uow())
        return pb.ListCampaignAudienceMembersResponse(
            profiles=[f"workspaces/{workspace}/profiles/{p}" for p in members], next_page_token=token)

    async def GetCampaignLaunch(self, request: pb.GetCampaignLaunchRequest, context):
        workspace, campaign_id = _child_name(request.name, "launch")
        return campaign_launch_to_proto(await self._run(launch.get_launch, workspace, campaign_id, self.uow()))

    async def ListCampaignLaunches(self, request: pb.ListCampaignLaunchesRequest, context):
        workspace, campaign_id = _name(request.parent, "parent")
        page = await self._run(launch.list_launches, workspace, campaign_id, request.page_size, request.page_token,
                               self.uow())
        return pb.ListCampaignLaunchesResponse(
            launches=[campaign_launch_to_proto(found, listed=True) for found in page.launches],
            next_page_token=page.next_page_token)

    async def GetCampaignStats(self, request: pb.GetCampaignStatsRequest, context):
        """The campaign from its own store, always; the analytics service's report when it answers
        in time, else `reporting_degraded` with the reason (never an error because of analytics)."""
        workspace, campaign_id = _child_name(request.name, "stats")
        campaign = await self._run(handlers.get_campaign, workspace, campaign_id, self.uow(), None)
        stats = campaign_stats_pb2.CampaignStats(name=request.name, campaign=await self._one(campaign))
        delivery = await self._run(upkeep.get_delivery, workspace, campaign_id, self.uow())
        delivery_to_stats(delivery.tally, delivery.pause_reason, stats)
        if self.analytics is None:
            stats.reporting_degraded, stats.degraded_reason = True, "no analytics service is configured"
            return stats
        try:
            report = await self.analytics.report(f"workspaces/{workspace}/campaigns/{campaign_id}/report")
            stats.report.CopyFrom(report)
        except ReportingDegraded as degraded:
            stats.reporting_degraded, stats.degraded_reason = True, str(degraded)
        return stats

    async def ListCampaigns(self, request: pb.ListCampaignsRequest, context):
        query = commands.ListCampaigns(parent_field(request.parent), request.page_size, request.page_token, request.filter)
        page = await self._run(handlers.list_campaigns, query, self.uow())
        return pb.ListCampaignsResponse(
            campaigns=await self._shown(page.campaigns),
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def UpdateCampaign(self, request: pb.UpdateCampaignRequest, context):
        if not request.HasField("campaign"):
            raise InvalidArgument(FieldViolation("campaign", "required"))
        workspace, campaign_id = _name(request.campaign.name, "campaign.name")
        paths = update_paths(list(request.update_mask.paths))
        cmd = commands.UpdateCampaign(workspace, campaign_id, fields_from_proto(request.campaign), paths,
                                      request.campaign.etag)
        return await self._one(await self._run(handlers.update_campaign, cmd, self.uow(), self.clock))

    async def DeleteCampaign(self, request: pb.DeleteCampaignRequest, context):
        workspace, campaign_id = _name(request.name)
        cmd = commands.DeleteCampaign(workspace, campaign_id, request.etag)
        await self._run(handlers.delete_campaign, cmd, self.uow(), self.clock)
        return empty_pb2.Empty()

    async def _change_state(self, action: str, request):
        workspace, campaign_id = _name(request.name)
        cmd = commands.ChangeState(workspace, campaign_id, action, request.etag)
        if action in ("schedule", "start") and self.content is not None:
            await self._check_ab_test(action, workspace, campaign_id)
        changed = await self._run(handlers.change_state, cmd, self.uow(), self.clock)
        # One line per lifecycle change, in the call's span (so with its trace_id): "campaign started".
        log.info("campaign %s", STATE_EVENTS[action].removeprefix("campaign_"),
                 extra={"workspace": workspace, "campaign": campaign_id, "state": changed.state.value})
        return await self._one(changed)

    async def _check_ab_test(self, action: str, workspace: str, campaign_id: str) -> None:
        """An A/B test's template has the variants it needs (before the state change, which checks the rest)."""
        campaign = await self._run(handlers.get_campaign, workspace, campaign_id, self.uow(), None)
        if campaign.fields.ab_test is None or campaign.state not in TRANSITIONS[action][0]:
            return
        missing = await launch.ab_test_readiness(campaign, self.content)
        if missing:
            details = "; ".join(f"{m.field}: {m.description}" for m in missing)
            raise FailedPrecondition(f"the campaign cannot {action}: {details}", missing,
                                     violation_type="LAUNCH_READINESS", metadata={"state": campaign.state.value})

    async def ScheduleCampaign(self, request, context):
        return await self._change_state("schedule", request)

    async def UnscheduleCampaign(self, request, context):
        return await self._change_state("unschedule", request)

    async def StartCampaign(self, request, context):
        return await self._change_state("start", request)

    async def PauseCampaign(self, request, context):
        return await self._change_state("pause", request)

    async def ResumeCampaign(self, request, context):
        return await self._change_state("resume", request)

    async def CompleteCampaign(self, request, context):
        return await self._change_state("complete", request)

    async def CancelCampaign(self, request, context):
        return await self._change_state("cancel", request)
