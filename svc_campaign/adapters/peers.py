"""The campaign service's calls to its peers over gRPC: the launch's to the
audience, content (preflight render) and notify services, and the stats read's to the analytics service.
Plain calls: the mesh retries and breaks circuits; here an answer is sorted
into "try this step again later" or "this step cannot succeed" (the launch),
or "answer without it" (the stats read)."""

from __future__ import annotations

import asyncio

import grpc

from marketing.analytics.v1 import analytics_service_pb2 as analytics_pb
from marketing.analytics.v1 import analytics_service_pb2_grpc as analytics_grpc
from marketing.analytics.v1 import campaign_report_pb2
from marketing.audience.v1 import audience_service_pb2 as audience_pb
from marketing.audience.v1 import audience_service_pb2_grpc as audience_grpc
from marketing.audience.v1 import profile_pb2, segment_pb2
from marketing.common.v1 import attribute_pb2
from marketing.common.v1 import message_content_pb2
from google.protobuf import json_format, struct_pb2

from marketing.content.v1 import content_service_pb2 as content_pb
from marketing.content.v1 import content_service_pb2_grpc as content_grpc
from marketing.integrations.v1 import integrations_service_pb2 as integrations_pb
from marketing.integrations.v1 import integrations_service_pb2_grpc as integrations_grpc
from marketing.notify.v1 import message_pb2
from marketing.notify.v1 import notify_service_pb2 as notify_pb
from marketing.notify.v1 import notify_service_pb2_grpc as notify_grpc
from svc_kit.channels import Channel
from svc_kit.proto_enums import channel_to_proto

from svc_campaign.domain.ab_test import Comparison, Figures, VariantFigures
from svc_campaign.domain.launch import CancelOutcome
from svc_campaign.domain.values import GoalMetric
from svc_campaign.service_layer.ports import Outgoing, PeerRefused, PeerUnavailable, ReportingDegraded, Snapshot

CALL_TIMEOUT = 30.0
PROFILES_PER_BATCH = 1000  # BatchGetProfiles' limit
DATE_PAGE = 1000  # ListProfiles' largest page (date triggers' timers)
# A read that includes the analytics service's figures waits this long for them, then answers
# without them (reporting degraded) rather than fail or hang (MKT_CAMPAIGN_REPORT_DEADLINE_SECONDS).
REPORT_TIMEOUT = 1.0
# Beyond the gRPC deadline, a guard on the whole call (channel set-up included) so that nothing
# (a name lookup, a stuck connect) makes the read later than its deadline plus this.
REPORT_GUARD = 0.1
# The stats read's channel tries to reconnect soon after analytics went away, so reporting is degraded
# for about a second after it is back, not for gRPC's default backoff (up to two minutes).
REPORT_CHANNEL_OPTIONS = (("grpc.initial_reconnect_backoff_ms", 250), ("grpc.min_reconnect_backoff_ms", 250),
                          ("grpc.max_reconnect_backoff_ms", 1000))
# :schedule and :start of a campaign with an A/B test read its template's variants this long at most, then go
# ahead without the check (the launch's preflight makes it again).
VARIANTS_TIMEOUT = 3.0
REFUSALS = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.OUT_OF_RANGE}


def _sorted(error: grpc.aio.AioRpcError, what: str) -> Exception:
    why = f"{what}: {error.code().name} {error.details() or ''}".strip()
    return PeerRefused(why) if error.code() in REFUSALS else PeerUnavailable(why)


class GrpcAudience:
    def __init__(self, channel: grpc.aio.Channel):
        self.stub = audience_grpc.AudienceServiceStub(channel)

    async def snapshot(self, segment: str, channel: Channel, snapshot_id: str, campaign: str) -> Snapshot:
        request = audience_pb.CreateSegmentSnapshotRequest(
            parent=segment, segment_snapshot_id=snapshot_id,
            segment_snapshot=segment_pb2.SegmentSnapshot(channel=channel_to_proto(channel), campaign=campaign))
        try:
            taken = await self.stub.CreateSegmentSnapshot(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:  # taken before a crash: read it
                raise _sorted(error, f"snapshot of {segment}") from None
            try:
                taken = await self.stub.GetSegmentSnapshot(audience_pb.GetSegmentSnapshotRequest(
                    name=f"{segment}/snapshots/{snapshot_id}"), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as again:
                raise _sorted(again, f"snapshot of {segment}") from None
        return Snapshot(taken.name, taken.size)

    async def members(self, snapshot: str, cursor: str, page_size: int) -> tuple[list[str], str]:
        try:
            page = await self.stub.ListSegmentMembers(audience_pb.ListSegmentMembersRequest(
                parent=snapshot, page_size=page_size, page_token=cursor), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"members of {snapshot}") from None
        return [m.profile for m in page.members], page.next_page_token


    async def release(self, snapshot: str) -> None:
        try:
            await self.stub.DeleteSegmentSnapshot(audience_pb.DeleteSegmentSnapshotRequest(name=snapshot),
                                                  timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # released before a crash kept the step
                raise _sorted(error, f"release of {snapshot}") from None

    async def time_zones(self, workspace: str, profiles: list[str]) -> dict[str, str]:
        zones: dict[str, str] = {}
        for start in range(0, len(profiles), PROFILES_PER_BATCH):
            try:
                found = await self.stub.BatchGetProfiles(audience_pb.BatchGetProfilesRequest(
                    parent=f"workspaces/{workspace}", names=profiles[start:start + PROFILES_PER_BATCH],
                    allow_missing=True), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise _sorted(error, "the recipients' time zones") from None
            zones.update((p.name, p.time_zone) for p in found.profiles)
        return zones


class GrpcContent:
    def __init__(self, channel: grpc.aio.Channel, timeout: float = CALL_TIMEOUT):
        self.stub = content_grpc.ContentServiceStub(channel)
        self.timeout = timeout

    async def render(self, template: str, profile: str, campaign: str, variant: str = "") -> None:
        try:
            await self.stub.RenderTemplate(content_pb.RenderTemplateRequest(
                name=template, context=content_pb.RenderContext(profile=profile), campaign=campaign, tracking=True,
                variant=variant), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            shown = f" as variant {variant}" if variant else ""
            raise _sorted(error, f"preflight render of {template} for {profile}{shown}") from None

    async def variants(self, template: str) -> tuple[str, ...]:
        """Of the latest published version, as notify sends it."""
        try:
            found = await self.stub.GetTemplate(content_pb.GetTemplateRequest(name=template), timeout=self.timeout)
            if not found.latest_version:
                raise PeerRefused(f"{template} is not published")
            version = await self.stub.GetTemplateVersion(content_pb.GetTemplateVersionRequest(
                name=found.latest_version), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"the variants of {template}") from None
        return tuple(v.id for v in version.variants if v.weight > 0)


class GrpcNotify:
    def __init__(self, channel: grpc.aio.Channel):
        self.stub = notify_grpc.NotifyServiceStub(channel)

    async def send(self, workspace: str, campaign: str, channel: Channel, template: str,
                   messages: list[Outgoing]) -> tuple[int, int, int]:
        parent = f"workspaces/{workspace}"
        requests = [notify_pb.SendMessageRequest(parent=parent, message=message_pb2.Message(
            channel=channel_to_proto(channel), recipient=m.recipient, idempotency_key=m.idempotency_key,
            template=message_pb2.TemplateRef(template=template, variant=m.variant), campaign=campaign,
            category=message_content_pb2.MESSAGE_CATEGORY_MARKETING)) for m in messages]
        for request, m in zip(requests, messages):
            if m.send_time is not None:  # notify holds the message until then
                request.message.send_time.FromDatetime(m.send_time)
        try:
            answer = await self.stub.BatchSendMessages(notify_pb.BatchSendMessagesRequest(
                parent=parent, requests=requests), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, "sending to the notify service") from None
        refused = sum(1 for r in answer.results if r.error.code != 0)
        duplicates = sum(1 for r in answer.results if r.error.code == 0 and r.duplicate)
        return len(answer.results) - refused - duplicates, duplicates, refused

    async def cancel(self, workspace: str, campaign: str) -> CancelOutcome:
        try:
            done = await self.stub.CancelCampaignMessages(notify_pb.CancelCampaignMessagesRequest(
                parent=f"workspaces/{workspace}", campaign=campaign), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, "cancelling the messages in the notify service") from None
        return CancelOutcome(done.cancelled_count, done.handed_over_count)

    async def hold(self, workspace: str, campaign: str) -> None:
        try:
            await self.stub.HoldCampaignMessages(notify_pb.HoldCampaignMessagesRequest(
                parent=f"workspaces/{workspace}", campaign=campaign), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, "holding the messages in the notify service") from None

    async def release(self, workspace: str, campaign: str) -> None:
        try:
            await self.stub.ReleaseCampaignMessages(notify_pb.ReleaseCampaignMessagesRequest(
                parent=f"workspaces/{workspace}", campaign=campaign), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, "releasing the messages in the notify service") from None


def degraded_reason(error: grpc.aio.AioRpcError, timeout: float) -> str:
    code, details = error.code(), (error.details() or "").strip()
    said = f"{code.name}: {details}" if details else code.name
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return f"the analytics service does not compute campaign reports yet ({said})"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"the analytics service is unavailable ({said})"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the analytics service did not answer within {timeout:g} s ({code.name})"
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return f"the mesh does not let the campaign service read reports ({said})"
    return f"the analytics service could not answer ({said})"


class GrpcAnalytics:
    """ReportingPort over gRPC: a campaign's report, with a short deadline. The channel is made
    on first use, on the server's event loop."""

    def __init__(self, channel_factory, timeout: float = REPORT_TIMEOUT):
        self._channel_factory = channel_factory
        self._stub: analytics_grpc.AnalyticsServiceStub | None = None
        self.timeout = timeout

    async def report(self, name: str) -> campaign_report_pb2.CampaignReport:
        if self._stub is None:
            self._stub = analytics_grpc.AnalyticsServiceStub(self._channel_factory())
        call = self._stub.GetCampaignReport(analytics_pb.GetCampaignReportRequest(name=name), timeout=self.timeout)
        try:
            return await asyncio.wait_for(call, self.timeout + REPORT_GUARD)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # analytics answered: nothing recorded yet
                return campaign_report_pb2.CampaignReport(name=name, campaign=name.removesuffix("/report"))
            raise ReportingDegraded(degraded_reason(error, self.timeout)) from None
        except asyncio.TimeoutError:
            call.cancel()
            raise ReportingDegraded(f"the analytics service did not answer within {self.timeout:g} s") from None


class GrpcTemplateVariants:
    """The variants check of :schedule and :start (`variants` of GrpcContent) with a short deadline; the
    channel is made on first use, on the server's event loop."""

    def __init__(self, channel_factory, timeout: float = VARIANTS_TIMEOUT):
        self._channel_factory = channel_factory
        self._content: GrpcContent | None = None
        self.timeout = timeout

    async def variants(self, template: str) -> tuple[str, ...]:
        if self._content is None:
            self._content = GrpcContent(self._channel_factory(), self.timeout)
        return await self._content.variants(template)


# The report's figures of each goal metric: (count field, comparison metric name).
GOAL_FIELDS = {GoalMetric.CLICKS: ("clicked", "click_rate"), GoalMetric.CONVERSIONS: ("converted", "conversion_rate"),
               GoalMetric.OPENS: ("opened", "open_rate")}


class GrpcAbTestFigures:
    """AbTestFiguresPort on the analytics service's GetCampaignReport: the figures per variant of the
    campaign's channel, and the report's comparisons when they are on the test's goal metric (the report
    compares conversions when the campaign has any, else clicks; the domain computes the others). Every
    problem is "try again later": no winner is chosen without figures."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float = CALL_TIMEOUT):
        self.stub = analytics_grpc.AnalyticsServiceStub(channel)
        self.timeout = timeout

    async def figures(self, campaign: str, channel: Channel, metric: GoalMetric) -> Figures:
        try:
            report = await self.stub.GetCampaignReport(analytics_pb.GetCampaignReportRequest(
                name=f"{campaign}/report"), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:  # nothing recorded yet
                return Figures()
            raise PeerUnavailable(f"the A/B test's figures: {degraded_reason(error, self.timeout)}") from None
        count, rate_name = GOAL_FIELDS[metric]
        wanted = channel_to_proto(channel)
        variants = tuple(VariantFigures(v.variant, v.metrics.sent, v.metrics.delivered, getattr(v.metrics, count))
                         for v in report.variants if v.channel == wanted and v.variant)
        comparisons = tuple(Comparison(c.variant, c.control, c.p_value, c.significant)
                            for c in report.comparisons if c.channel == wanted and c.metric == rate_name)
        return Figures(variants, comparisons)


class GrpcJourneyNotify:
    """JourneyNotifyPort over notify's BatchSendMessages (consent, suppressions, quiet hours and caps are
    notify's): one call per batch of journey sends, each with its idempotency key. The channel is made on
    first use, on the calling event loop."""

    def __init__(self, channel_factory):
        self._channel_factory = channel_factory
        self._stub: notify_grpc.NotifyServiceStub | None = None

    async def send_journey_messages(self, workspace: str, sends: list) -> list[str]:
        if self._stub is None:
            self._stub = notify_grpc.NotifyServiceStub(self._channel_factory())
        parent = f"workspaces/{workspace}"
        results: list[str] = []
        for start in range(0, len(sends), 1000):  # BatchSendMessages' limit
            requests = [notify_pb.SendMessageRequest(parent=parent, message=message_pb2.Message(
                channel=channel_to_proto(Channel(s.channel)), recipient=s.profile, idempotency_key=s.idempotency_key,
                template=message_pb2.TemplateRef(template=s.template),
                labels={"journey": s.journey.rsplit("/", 1)[-1]},
                category=message_content_pb2.MESSAGE_CATEGORY_MARKETING)) for s in sends[start:start + 1000]]
            try:
                answer = await self._stub.BatchSendMessages(notify_pb.BatchSendMessagesRequest(
                    parent=parent, requests=requests), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise _sorted(error, "journey sends to the notify service") from None
            results.extend(f"code {r.error.code}: {r.error.message}" if r.error.code else "" for r in answer.results)
        return results


class GrpcJourneyAudience:
    """JourneyAudiencePort over audience's UpsertProfile (a merge: only the attribute changes), BatchGetProfiles
    (time zones, attributes, dates), ListProfiles (date triggers' timers, a page at a time) and
    Add/RemoveSegmentMembers; `check_static_segment` (GetSegment) for the publish.
    The channel is made on first use, on the calling event loop."""

    def __init__(self, channel_factory, timeout: float = CALL_TIMEOUT):
        self._channel_factory = channel_factory
        self._stub: audience_grpc.AudienceServiceStub | None = None
        self.timeout = timeout

    async def change_members(self, segment: str, profiles: list[str], add: bool) -> list[str]:
        if self._stub is None:
            self._stub = audience_grpc.AudienceServiceStub(self._channel_factory())
        workspace = segment.split("/")[1]
        names = [f"workspaces/{workspace}/profiles/{p}" for p in profiles]
        try:
            if add:
                answer = await self._stub.AddSegmentMembers(audience_pb.AddSegmentMembersRequest(
                    segment=segment, profiles=names), timeout=self.timeout)
            else:
                answer = await self._stub.RemoveSegmentMembers(audience_pb.RemoveSegmentMembersRequest(
                    segment=segment, profiles=names), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"{'adding to' if add else 'removing from'} {segment}") from None
        return [n.rsplit("/", 1)[-1] for n in answer.not_found]

    async def check_static_segment(self, segment: str) -> None:
        """At publish: PeerRefused when the segment is gone or not static."""
        if self._stub is None:
            self._stub = audience_grpc.AudienceServiceStub(self._channel_factory())
        try:
            found = await self._stub.GetSegment(audience_pb.GetSegmentRequest(name=segment), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, segment) from None
        if found.kind != segment_pb2.Segment.KIND_STATIC:
            raise PeerRefused(f"{segment} is not a static segment (its members follow its "
                              f"{'lookalike' if found.kind == segment_pb2.Segment.KIND_LOOKALIKE else 'rule'}); "
                              f"add_to_segment and remove_from_segment change static segments only")

    async def set_attribute(self, workspace: str, profile: str, attribute: str, value: str) -> None:
        if self._stub is None:
            self._stub = audience_grpc.AudienceServiceStub(self._channel_factory())
        name = f"workspaces/{workspace}/profiles/{profile}"
        try:
            await self._stub.UpsertProfile(audience_pb.UpsertProfileRequest(name=name, profile=profile_pb2.Profile(
                attributes=[attribute_pb2.Attribute(key=attribute, string_value=value)])), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"setting {attribute} of {name}") from None

    async def _batch_profiles(self, workspace: str, profiles: list[str], what: str) -> list[profile_pb2.Profile]:
        """The profiles that exist, read PROFILES_PER_BATCH at a time; `what` names the read in errors."""
        if self._stub is None:
            self._stub = audience_grpc.AudienceServiceStub(self._channel_factory())
        found: list[profile_pb2.Profile] = []
        for start in range(0, len(profiles), PROFILES_PER_BATCH):
            names = [f"workspaces/{workspace}/profiles/{p}" for p in profiles[start:start + PROFILES_PER_BATCH]]
            try:
                page = await self._stub.BatchGetProfiles(audience_pb.BatchGetProfilesRequest(
                    parent=f"workspaces/{workspace}", names=names, allow_missing=True), timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise _sorted(error, what) from None
            found.extend(page.profiles)
        return found

    async def time_zones(self, workspace: str, profiles: list[str]) -> dict[str, str]:
        return {p.name.rsplit("/", 1)[-1]: p.time_zone
                for p in await self._batch_profiles(workspace, profiles, "the profiles' time zones")}

    async def attributes(self, workspace: str, profiles: list[str]) -> dict[str, dict[str, str]]:
        return {p.name.rsplit("/", 1)[-1]: {a.key: attribute_text(a) for a in p.attributes}
                for p in await self._batch_profiles(workspace, profiles, "the profiles' attributes")}

    async def date_values(self, workspace: str, attribute: str, page_token: str
                          ) -> tuple[list[tuple[str, str, str]], str]:
        if self._stub is None:
            self._stub = audience_grpc.AudienceServiceStub(self._channel_factory())
        try:
            page = await self._stub.ListProfiles(audience_pb.ListProfilesRequest(
                parent=f"workspaces/{workspace}", page_size=DATE_PAGE, page_token=page_token), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, "the profiles' dates") from None
        found = []
        for p in page.profiles:
            for a in p.attributes:
                if a.key == attribute:
                    found.append((p.name.rsplit("/", 1)[-1], attribute_text(a), p.time_zone))
        return found, page.next_page_token

    async def dates(self, workspace: str, profiles: list[str], attribute: str) -> dict[str, tuple[str, str]]:
        return {p.name.rsplit("/", 1)[-1]: (attribute_text(a), p.time_zone)
                for p in await self._batch_profiles(workspace, profiles, "the profiles' dates")
                for a in p.attributes if a.key == attribute}

def attribute_text(a: attribute_pb2.Attribute) -> str:
    """An attribute's value as the text a journey's condition compares."""
    kind = a.WhichOneof("value")
    if kind == "string_value":
        return a.string_value
    if kind == "int_value":
        return str(a.int_value)
    if kind == "double_value":
        return repr(a.double_value)
    if kind == "bool_value":
        return "true" if a.bool_value else "false"
    if kind == "timestamp_value":
        return a.timestamp_value.ToJsonString()
    if kind == "string_list_value":
        return ",".join(a.string_list_value.values)
    return ""


class GrpcJourneyIntegrations:
    """JourneyIntegrationsPort over integrations' DeliverWebhookEvent (its pipeline signs, retries and logs the
    delivery). The channel is made on first use, on the calling event loop."""

    EVENT_TYPE = "journey.step"

    def __init__(self, channel_factory, timeout: float = CALL_TIMEOUT):
        self._channel_factory = channel_factory
        self._stub: integrations_grpc.IntegrationsServiceStub | None = None
        self.timeout = timeout

    def _request(self, webhook: str, data: dict, idempotency_key: str, validate_only: bool = False):
        body = struct_pb2.Struct()
        json_format.ParseDict(data, body)
        return integrations_pb.DeliverWebhookEventRequest(webhook=webhook, event_type=self.EVENT_TYPE, data=body,
                                                          idempotency_key=idempotency_key,
                                                          validate_only=validate_only)

    async def deliver_webhook_event(self, webhook: str, data: dict, idempotency_key: str) -> None:
        if self._stub is None:
            self._stub = integrations_grpc.IntegrationsServiceStub(self._channel_factory())
        try:
            await self._stub.DeliverWebhookEvent(self._request(webhook, data, idempotency_key), timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"delivering to {webhook}") from None

    async def check_webhook(self, webhook: str) -> None:
        """At publish: PeerRefused when the webhook is gone or disabled (nothing is queued)."""
        if self._stub is None:
            self._stub = integrations_grpc.IntegrationsServiceStub(self._channel_factory())
        try:
            await self._stub.DeliverWebhookEvent(self._request(webhook, {}, "publish-check", True),
                                                 timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise _sorted(error, f"{webhook}") from None
