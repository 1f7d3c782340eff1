"""The thin gRPC layer: requests to commands, handler results to responses.

Handlers are synchronous (SQLAlchemy); with a networked database they run on
worker threads, with the embedded SQLite file inline (as in the campaign
service). Rendering and image work run on their own threads so that one big
batch does not hold up health checks and short calls."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from marketing.content.v1 import content_service_pb2 as pb
from marketing.content.v1 import content_service_pb2_grpc as pb_grpc
from svc_kit import privacy_rpc
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound, Unimplemented
from svc_kit.executor import run_blocking
from svc_kit.grpc_status import status_of
from svc_kit.names import name_field, parent_field

from svc_content.entrypoints import mapping
from svc_content.service_layer import assets, handlers
from svc_content.service_layer.ports import BlobStore, CampaignDirectory
from svc_content.service_layer.rendering import RenderCall, RenderService, raise_for
from svc_content.service_layer.unit_of_work import UnitOfWork
from svc_content.templating.renderer import RecipientResult

T = TypeVar("T")


def _required(request, field: str):
    if not request.HasField(field):
        raise InvalidArgument(FieldViolation(field, "required"))
    return getattr(request, field)


def _campaign(value: str, workspace: str) -> str:
    if not value:
        return ""
    campaign_workspace, campaign_id = name_field(value, "campaigns", "campaign")
    if campaign_workspace != workspace:
        raise mapping.invalid("campaign", f"{value} is not in workspace {workspace!r}")
    return campaign_id


def _error_status(result: RecipientResult):
    field_name, _, message = result.error.partition(": ")
    if result.code == "NOT_FOUND":
        return status_of(NotFound(message.removesuffix(" not found"), result.error))
    return status_of(InvalidArgument(FieldViolation(field_name, message)))


class ContentServicer(pb_grpc.ContentServiceServicer):
    def __init__(self, uow: Callable[[], UnitOfWork], renderer: RenderService, blobs: BlobStore,
                 campaigns: CampaignDirectory, clock, new_id, base_url: str, executor: Executor | None,
                 cpu: Executor | None, export_profile: Callable[[str, str], dict] | None = None):
        self.uow = uow
        self.export_profile = export_profile  # (workspace, profile) -> what content holds on the profile
        self.renderer = renderer
        self.blobs = blobs
        self.campaigns = campaigns
        self.clock = clock
        self.new_id = new_id
        self.base_url = base_url.rstrip("/")
        self.executor = executor
        self.cpu = cpu

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.executor, fn, *args)

    async def ExportProfileData(self, request, context):
        workspace, profile = privacy_rpc.profile_field(request.name)
        if self.export_profile is None:
            raise Unimplemented("ExportProfileData is not wired in this process")
        return privacy_rpc.profile_data("content", await self._run(self.export_profile, workspace, profile))

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.cpu, fn, *args)

    # -- templates -------------------------------------------------------------------------------------

    async def CreateTemplate(self, request: pb.CreateTemplateRequest, context):
        workspace = parent_field(request.parent)
        template = _required(request, "template")
        cmd = handlers.CreateTemplate(workspace, mapping.channel_from_proto(template.channel),
                                      mapping.draft_from_proto(template), request.template_id, request.request_id,
                                      request.validate_only)
        # The check compiles MJML and trial-renders: CPU work, off the event loop.
        created = await self._cpu(handlers.create_template, cmd, self.uow(), self.clock, self.new_id)
        return mapping.template_to_proto(created)

    async def GetTemplate(self, request: pb.GetTemplateRequest, context):
        workspace, template_id = name_field(request.name, "templates")
        return mapping.template_to_proto(await self._run(handlers.get_template, workspace, template_id, self.uow()))

    async def ListTemplates(self, request: pb.ListTemplatesRequest, context):
        workspace = parent_field(request.parent)
        page = await self._run(handlers.list_templates, workspace, request.page_size, request.page_token,
                               request.filter, self.uow())
        return pb.ListTemplatesResponse(templates=[mapping.template_to_proto(t) for t in page.templates],
                                        next_page_token=page.next_page_token, total_size=page.total_size)

    async def UpdateTemplate(self, request: pb.UpdateTemplateRequest, context):
        template = _required(request, "template")
        workspace, template_id = name_field(template.name, "templates", "template.name")
        cmd = handlers.UpdateTemplate(workspace, template_id, mapping.draft_from_proto(template),
                                      tuple(request.update_mask.paths), template.etag, request.validate_only)
        return mapping.template_to_proto(await self._cpu(handlers.update_template, cmd, self.uow(), self.clock))

    async def DeleteTemplate(self, request: pb.DeleteTemplateRequest, context):
        workspace, template_id = name_field(request.name, "templates")
        await self._run(handlers.get_template, workspace, template_id, self.uow())  # NOT_FOUND before asking
        referencing = await self.campaigns.referencing(workspace, handlers.template_name(workspace, template_id))
        await self._run(handlers.delete_template, workspace, template_id, request.etag, referencing, self.uow())
        return empty_pb2.Empty()

    async def PublishTemplate(self, request: pb.PublishTemplateRequest, context):
        workspace, template_id = name_field(request.name, "templates")
        cmd = handlers.PublishTemplate(workspace, template_id, request.etag, request.change_note, request.request_id)
        return mapping.version_to_proto(await self._run(handlers.publish_template, cmd, self.uow(), self.clock))

    async def GetTemplateVersion(self, request: pb.GetTemplateVersionRequest, context):
        workspace, template_id, number = mapping.version_name(request.name)
        return mapping.version_to_proto(await self._run(handlers.get_version, workspace, template_id, number,
                                                        self.uow()))

    async def ListTemplateVersions(self, request: pb.ListTemplateVersionsRequest, context):
        workspace, template_id = name_field(request.parent, "templates", "parent")
        page = await self._run(handlers.list_versions, workspace, template_id, request.page_size,
                               request.page_token, self.uow())
        return pb.ListTemplateVersionsResponse(template_versions=[mapping.version_to_proto(v) for v in page.versions],
                                               next_page_token=page.next_page_token)

    async def RestoreTemplateVersion(self, request: pb.RestoreTemplateVersionRequest, context):
        workspace, template_id, number = mapping.version_name(request.name)
        restored = await self._cpu(handlers.restore_version, workspace, template_id, number, request.etag,
                                   self.uow(), self.clock)
        return mapping.template_to_proto(restored)

    # -- rendering -------------------------------------------------------------------------------------

    async def RenderTemplate(self, request: pb.RenderTemplateRequest, context):
        workspace, template_id, version = mapping.template_or_version(request.name)
        render_request = mapping.render_request(workspace, request.context, "context")
        call = RenderCall(workspace, template_id, version, [render_request], _campaign(request.campaign, workspace),
                          request.tracking, request.variant)
        rendering = await self.renderer.render(call)
        result = rendering.results[0]
        raise_for(result)
        return pb.RenderTemplateResponse(content=mapping.rendered_to_proto(result.content), variant=result.variant,
                                         template_version=rendering.source.version_name, warnings=result.warnings)

    async def BatchRenderTemplate(self, request: pb.BatchRenderTemplateRequest, context):
        workspace, template_id, version = mapping.template_or_version(request.name)
        if not request.contexts:
            raise mapping.invalid("contexts", "required: at least one recipient")
        requests = [mapping.render_request(workspace, c, f"contexts[{i}]") for i, c in enumerate(request.contexts)]
        call = RenderCall(workspace, template_id, version, requests, _campaign(request.campaign, workspace),
                          request.tracking)
        rendering = await self.renderer.render(call)
        results = []
        for asked, result in zip(request.contexts, rendering.results):
            if result.error:
                results.append(pb.RenderResult(profile=asked.profile, error=_error_status(result),
                                               variant=result.variant))
            else:
                results.append(pb.RenderResult(profile=asked.profile, variant=result.variant,
                                               content=mapping.rendered_to_proto(result.content)))
        return pb.BatchRenderTemplateResponse(results=results)

    # -- assets ----------------------------------------------------------------------------------------

    async def CreateAsset(self, request: pb.CreateAssetRequest, context):
        workspace = parent_field(request.parent)
        asset = _required(request, "asset")
        cmd = assets.CreateAsset(workspace, request.data, asset.content_type, asset.display_name, dict(asset.labels),
                                 request.asset_id, request.request_id)
        return mapping.asset_to_proto(await self._cpu(assets.create_asset, cmd, self.uow(), self.blobs, self.clock,
                                                      self.new_id), self.base_url)

    async def UploadAsset(self, request: pb.UploadAssetRequest, context):
        workspace = parent_field(request.parent)
        body = request.http_body
        cmd = assets.CreateAsset(workspace, body.data, body.content_type, request.display_name, {},
                                 request.asset_id, request.request_id)
        return mapping.asset_to_proto(await self._cpu(assets.create_asset, cmd, self.uow(), self.blobs, self.clock,
                                                      self.new_id), self.base_url)

    async def GetAsset(self, request: pb.GetAssetRequest, context):
        workspace, asset_id = name_field(request.name, "assets")
        return mapping.asset_to_proto(await self._run(assets.get_asset, workspace, asset_id, self.uow()),
                                      self.base_url)

    async def ListAssets(self, request: pb.ListAssetsRequest, context):
        workspace = parent_field(request.parent)
        page = await self._run(assets.list_assets, workspace, request.page_size, request.page_token,
                               request.filter, self.uow())
        return pb.ListAssetsResponse(assets=[mapping.asset_to_proto(a, self.base_url) for a in page.assets],
                                     next_page_token=page.next_page_token)

    async def UpdateAsset(self, request: pb.UpdateAssetRequest, context):
        asset = _required(request, "asset")
        workspace, asset_id = name_field(asset.name, "assets", "asset.name")
        updated = await self._run(assets.update_asset, workspace, asset_id, asset.display_name, dict(asset.labels),
                                  tuple(request.update_mask.paths), asset.etag, self.uow(), self.clock)
        return mapping.asset_to_proto(updated, self.base_url)

    async def DeleteAsset(self, request: pb.DeleteAssetRequest, context):
        workspace, asset_id = name_field(request.name, "assets")
        await self._run(assets.delete_asset, workspace, asset_id, request.etag, self.uow(), self.clock)
        return empty_pb2.Empty()

    async def DownloadAsset(self, request: pb.DownloadAssetRequest, context):
        workspace, asset_id = name_field(request.name, "assets")
        data, content_type = await self._cpu(assets.download_asset, workspace, asset_id, request.width,
                                             request.content_type, self.uow(), self.blobs)
        # Content-addressed bytes never change under a name: let browsers and proxies keep them.
        await context.send_initial_metadata((("cache-control", "public, max-age=86400"),))
        return httpbody_pb2.HttpBody(content_type=content_type, data=data)
