"""The thin gRPC layer of the notify service: requests to use cases, results
to responses. Use cases are synchronous (SQLAlchemy) and run on worker
threads, so a batch insert never holds up the event loop."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import TypeVar

from google.api import httpbody_pb2
from google.protobuf import empty_pb2
from google.rpc import status_pb2

from marketing.notify.v1 import notify_service_pb2 as pb
from marketing.notify.v1 import notify_service_pb2_grpc as pb_grpc
from svc_kit import privacy_rpc
from svc_kit.errors import FieldViolation, InvalidArgument, ServiceError, Unimplemented
from svc_kit.executor import run_blocking
from svc_kit.grpc_status import status_of
from svc_kit.ids import new_id
from svc_kit.signing import CALLBACK_TOLERANCE, Keyring

from svc_notify.domain.providers import SmtpConfig
from svc_notify.entrypoints import mapping
from svc_notify.entrypoints import resource_names as names
from svc_notify.service_layer import callbacks, campaign_messages, engagement, messages, providers, settings
from svc_notify.service_layer.ports import DeliverySignals, Secrets, Senders
from svc_notify.service_layer.unit_of_work import UnitOfWork

T = TypeVar("T")
log = logging.getLogger("svc_notify.api")
REDIRECT_HEADER = "x-redirect-location"
ENGAGEMENT_KINDS = {pb.RecordEngagementRequest.TYPE_OPEN: engagement.OPEN,
                    pb.RecordEngagementRequest.TYPE_CLICK: engagement.CLICK}
# A transparent 1x1 GIF, the open pixel's answer.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _status(error: ServiceError) -> status_pb2.Status:
    return status_of(error)


def _user_agent(context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "user-agent" and isinstance(value, str):
            return value
    return ""


class NotifyServicer(pb_grpc.NotifyServiceServicer):
    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime],
                 executor: Executor | None, secrets: Secrets, trial_senders: Callable[[], Senders],
                 default_smtp: SmtpConfig | None = None, link_key: Keyring | None = None, public_base_url: str = "",
                 new_id_: Callable[[], str] = new_id, callback_tolerance: timedelta = CALLBACK_TOLERANCE,
                 export_profile: Callable[[str, str], dict] | None = None,
                 signals: DeliverySignals | None = None):
        self.uow = uow_factory
        self.signals = signals  # bounces reported by provider callbacks (mkt_notify_deliveries_total)
        self.export_profile = export_profile  # (workspace, profile) -> what notify holds on the profile
        self.clock = clock
        self.executor = executor
        self.secrets = secrets  # verify provider callbacks
        self.trial_senders = trial_senders  # senders for TestProvider (the dispatcher has its own)
        self.default_smtp = default_smtp
        self.link_key = link_key
        self.public_base_url = public_base_url
        self.new_id = new_id_
        self.callback_tolerance = callback_tolerance  # how far a callback's signed time may be from now

    async def _run(self, fn: Callable[..., T], *args) -> T:
        return await run_blocking(self.executor, fn, *args)

    # -- privacy -------------------------------------------------------------------------------------

    async def ExportProfileData(self, request, context):
        workspace, profile = privacy_rpc.profile_field(request.name)
        if self.export_profile is None:
            raise Unimplemented("ExportProfileData is not wired in this process")
        return privacy_rpc.profile_data("notify", await self._run(self.export_profile, workspace, profile))

    # -- messages ------------------------------------------------------------------------------------

    async def SendMessage(self, request: pb.SendMessageRequest, context):
        workspace = names.parent(request.parent)
        if not request.HasField("message"):
            raise InvalidArgument(FieldViolation("message", "required"))
        draft = mapping.message_from_proto(workspace, request.message, "message.")
        [result] = await self._run(messages.send_messages, [draft], [request.validate_only], self.uow(), self.clock,
                                   self.new_id, lambda i: "message.")
        if isinstance(result, ServiceError):
            raise result
        return pb.SendMessageResponse(message=mapping.message_to_proto(result.message), duplicate=result.duplicate)

    async def BatchSendMessages(self, request: pb.BatchSendMessagesRequest, context):
        drafts = mapping.batch_drafts(names.parent(request.parent), request)
        results = await self._run(messages.send_messages, drafts, [r.validate_only for r in request.requests],
                                  self.uow(), self.clock, self.new_id)
        return pb.BatchSendMessagesResponse(results=[
            pb.SendMessageResult(error=_status(r)) if isinstance(r, ServiceError) else
            pb.SendMessageResult(message=mapping.message_to_proto(r.message), duplicate=r.duplicate)
            for r in results])

    async def GetMessage(self, request: pb.GetMessageRequest, context):
        workspace, message_id = names.resource(request.name, "messages")
        return mapping.message_to_proto(await self._run(messages.get_message, workspace, message_id, self.uow()))

    async def ListMessages(self, request: pb.ListMessagesRequest, context):
        workspace = names.parent(request.parent)
        page, token = await self._run(messages.list_messages, workspace, request.filter, request.page_size,
                                      request.page_token, self.uow())
        return pb.ListMessagesResponse(messages=[mapping.message_to_proto(m) for m in page], next_page_token=token)

    async def CancelMessage(self, request: pb.CancelMessageRequest, context):
        workspace, message_id = names.resource(request.name, "messages")
        return mapping.message_to_proto(await self._run(messages.cancel_message, workspace, message_id, request.etag,
                                                        self.uow(), self.clock))

    async def CancelCampaignMessages(self, request: pb.CancelCampaignMessagesRequest, context):
        workspace = names.parent(request.parent)
        done = await self._run(campaign_messages.cancel_campaign_messages, workspace, request.campaign, self.uow(),
                               self.clock)
        return pb.CancelCampaignMessagesResponse(cancelled_count=done.cancelled, handed_over_count=done.handed_over)

    async def HoldCampaignMessages(self, request: pb.HoldCampaignMessagesRequest, context):
        workspace = names.parent(request.parent)
        held = await self._run(campaign_messages.hold_campaign_messages, workspace, request.campaign, self.uow(),
                               self.clock)
        return pb.CampaignMessagesHold(campaign=request.campaign, held=held)

    async def ReleaseCampaignMessages(self, request: pb.ReleaseCampaignMessagesRequest, context):
        workspace = names.parent(request.parent)
        held = await self._run(campaign_messages.release_campaign_messages, workspace, request.campaign, self.uow(),
                               self.clock)
        return pb.CampaignMessagesHold(campaign=request.campaign, held=held)

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context):
        workspace, message_id = names.deliveries_parent(request.parent)
        page, token = await self._run(messages.list_deliveries, workspace, message_id, request.filter,
                                      request.page_size, request.page_token, self.uow())
        return pb.ListDeliveriesResponse(deliveries=[mapping.delivery_to_proto(d) for d in page],
                                         next_page_token=token)

    # -- engagement ----------------------------------------------------------------------------------

    async def RecordEngagement(self, request: pb.RecordEngagementRequest, context):
        workspace, message_id = names.resource(request.name, "messages")
        kind = ENGAGEMENT_KINDS.get(request.type)
        if kind is None:
            raise InvalidArgument(FieldViolation("type", "TYPE_OPEN or TYPE_CLICK"))
        url = engagement.check_link_url(request.url) if request.url else ""
        at = mapping.instant(request.event_time, "event_time") if request.HasField("event_time") else self.clock()
        await self._run(engagement.record_engagement, workspace, message_id, kind, request.token, self.link_key, url,
                        request.user_agent, at, self.uow())
        return empty_pb2.Empty()

    async def TrackClick(self, request: pb.TrackClickRequest, context):
        workspace, message_id = names.resource(request.name, "messages")
        if request.url:
            engagement.check_link_url(request.url)
        url = await self._run(engagement.record_engagement, workspace, message_id, engagement.CLICK, request.token,
                              self.link_key, request.url, _user_agent(context), self.clock(), self.uow())
        await context.send_initial_metadata(((REDIRECT_HEADER, url),))
        link = html.escape(url, quote=True)
        return httpbody_pb2.HttpBody(content_type="text/html; charset=utf-8",
                                     data=f'<a href="{link}">{link}</a>\n'.encode())

    async def TrackOpen(self, request: pb.TrackOpenRequest, context):
        workspace, message_id = names.resource(request.name, "messages")
        try:
            await self._run(engagement.record_engagement, workspace, message_id, engagement.OPEN, request.token,
                            self.link_key, "", _user_agent(context), self.clock(), self.uow())
        except InvalidArgument:  # a bad, tampered or foreign token: 400, nothing recorded
            raise
        except ServiceError as error:  # otherwise the pixel loads; nothing is recorded
            log.info("open not recorded for %s: %s", request.name, error.message)
        return httpbody_pb2.HttpBody(content_type="image/gif", data=PIXEL)

    # -- providers -----------------------------------------------------------------------------------

    async def CreateProvider(self, request: pb.CreateProviderRequest, context):
        workspace = names.parent(request.parent)
        if not request.HasField("provider"):
            raise InvalidArgument(FieldViolation("provider", "required"))
        draft = mapping.provider_from_proto(workspace, request.provider_id, request.provider)
        created = await self._run(providers.create_provider, draft, request.provider_id, request.request_id,
                                  request.validate_only, self.uow(), self.clock, self.new_id)
        return mapping.provider_to_proto(created)

    async def GetProvider(self, request: pb.GetProviderRequest, context):
        workspace, provider_id = names.resource(request.name, "providers")
        return mapping.provider_to_proto(await self._run(providers.get_provider, workspace, provider_id, self.uow()))

    async def ListProviders(self, request: pb.ListProvidersRequest, context):
        workspace = names.parent(request.parent)
        page, token = await self._run(providers.list_providers, workspace, request.filter, request.page_size,
                                      request.page_token, self.uow())
        return pb.ListProvidersResponse(providers=[mapping.provider_to_proto(p) for p in page], next_page_token=token)

    async def UpdateProvider(self, request: pb.UpdateProviderRequest, context):
        if not request.HasField("provider"):
            raise InvalidArgument(FieldViolation("provider", "required"))
        workspace, provider_id = names.resource(request.provider.name, "providers", "provider.name")
        change = mapping.provider_from_proto(workspace, provider_id, request.provider)
        updated = await self._run(providers.update_provider, change, list(request.update_mask.paths),
                                  request.validate_only, request.provider.etag, self.uow(), self.clock)
        return mapping.provider_to_proto(updated)

    async def DeleteProvider(self, request: pb.DeleteProviderRequest, context):
        workspace, provider_id = names.resource(request.name, "providers")
        await self._run(providers.delete_provider, workspace, provider_id, request.etag, self.uow())
        return empty_pb2.Empty()

    async def TestProvider(self, request: pb.TestProviderRequest, context):
        workspace, provider_id = names.resource(request.name, "providers")
        provider = await self._run(providers.get_provider, workspace, provider_id, self.uow())
        outcome = await providers.try_provider(provider, request.etag, request.address, self.trial_senders,
                                               self.clock, self.new_id)
        return pb.TestProviderResponse(success=outcome.accepted, detail=outcome.response,
                                       provider_message_id=outcome.provider_message_id)

    async def ReceiveProviderCallback(self, request: pb.ReceiveProviderCallbackRequest, context):
        workspace, provider_id = names.resource(request.name, "providers")
        headers = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        await self._run(callbacks.receive, workspace, provider_id, request.http_body.content_type,
                        request.http_body.data, headers, self.uow(), self.clock, self.secrets, self.default_smtp,
                        self.callback_tolerance, self.signals)
        return empty_pb2.Empty()

    # -- sending rules -------------------------------------------------------------------------------

    async def GetNotifySettings(self, request: pb.GetNotifySettingsRequest, context):
        workspace = names.settings(request.name)
        return mapping.settings_to_proto(await self._run(settings.get_settings, workspace, self.uow()))

    async def UpdateNotifySettings(self, request: pb.UpdateNotifySettingsRequest, context):
        if not request.HasField("notify_settings"):
            raise InvalidArgument(FieldViolation("notify_settings", "required"))
        workspace = names.settings(request.notify_settings.name, "notify_settings.name")
        change = mapping.settings_from_proto(workspace, request.notify_settings)
        updated = await self._run(settings.update_settings, change, list(request.update_mask.paths),
                                  request.notify_settings.etag, self.uow(), self.clock)
        return mapping.settings_to_proto(updated)

    # -- inbox ---------------------------------------------------------------------------------------

    async def GetInbox(self, request: pb.GetInboxRequest, context):
        workspace, inbox = names.inbox(request.name)
        return mapping.inbox_to_proto(await self._run(engagement.get_inbox, workspace, inbox, self.uow(), self.clock))

    async def ListInboxItems(self, request: pb.ListInboxItemsRequest, context):
        workspace, inbox = names.inbox(request.parent, "parent")
        page, token = await self._run(engagement.list_inbox_items, workspace, inbox, request.filter,
                                      request.page_size, request.page_token, self.uow(), self.clock)
        return pb.ListInboxItemsResponse(inbox_items=[mapping.inbox_item_to_proto(i) for i in page],
                                         next_page_token=token)

    async def MarkInboxItemsRead(self, request: pb.MarkInboxItemsReadRequest, context):
        workspace, inbox = names.inbox(request.inbox, "inbox")
        ids = None
        if request.items:
            ids = []
            for i, name in enumerate(request.items):
                item_workspace, item_inbox, item_id = names.inbox_item(name, f"items[{i}]")
                if (item_workspace, item_inbox) != (workspace, inbox):
                    raise InvalidArgument(FieldViolation(f"items[{i}]", f"is not an item of {request.inbox}"))
                ids.append(item_id)
        marked, unread = await self._run(engagement.mark_read, workspace, inbox, ids, self.uow(), self.clock)
        return pb.MarkInboxItemsReadResponse(marked_count=marked, unread_count=unread)

    async def DeleteInboxItem(self, request: pb.DeleteInboxItemRequest, context):
        workspace, inbox, item_id = names.inbox_item(request.name)
        await self._run(engagement.delete_inbox_item, workspace, inbox, item_id, self.uow())
        return empty_pb2.Empty()
