"""The content service over gRPC, behind the ContentRenderer port: templates
rendered per recipient (one batch call per template, or one call each when a
variant is forced, the batch call having no per-recipient variant)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc
from google.protobuf import json_format, struct_pb2

from marketing.content.v1 import content_service_pb2 as content_pb
from marketing.content.v1 import content_service_pb2_grpc as content_grpc

from svc_notify.adapters.content_proto import content_from_proto
from svc_kit.clients import Peer

from svc_notify.adapters.grpc_peer import BATCH, CALL_TIMEOUT, unavailable
from svc_notify.service_layer.ports import Rendered, RenderRequest

_PERMANENT = frozenset({grpc.StatusCode.INVALID_ARGUMENT.value[0], grpc.StatusCode.NOT_FOUND.value[0],
                        grpc.StatusCode.FAILED_PRECONDITION.value[0], grpc.StatusCode.OUT_OF_RANGE.value[0]})


class GrpcContent(Peer):
    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        super().__init__(channel_factory, content_grpc.ContentServiceStub)

    @staticmethod
    def _context(request: RenderRequest) -> content_pb.RenderContext:
        context = content_pb.RenderContext(profile=request.profile, message=request.message)
        if request.data is not None:
            context.data.CopyFrom(json_format.ParseDict(request.data, struct_pb2.Struct()))
        return context

    async def render(self, template: str, campaign: str, variant: str,
                     requests: Sequence[RenderRequest]) -> list[Rendered]:
        version = template if "/versions/" in template else ""
        try:
            if variant:  # the batch call has no per-recipient variant
                out = []
                for request in requests:
                    response = await self.stub.RenderTemplate(content_pb.RenderTemplateRequest(
                        name=template, context=self._context(request), campaign=campaign, variant=variant,
                        tracking=True), timeout=CALL_TIMEOUT)
                    out.append(Rendered(content_from_proto(response.content), response.variant,
                                        response.template_version or version))
                return out
            out = []
            for start in range(0, len(requests), BATCH):
                chunk = requests[start:start + BATCH]
                response = await self.stub.BatchRenderTemplate(content_pb.BatchRenderTemplateRequest(
                    name=template, contexts=[self._context(r) for r in chunk], campaign=campaign, tracking=True),
                    timeout=CALL_TIMEOUT)
                for result in response.results:
                    if result.HasField("error") and result.error.code != 0:
                        out.append(Rendered(error=f"{_code_name(result.error.code)}: {result.error.message}",
                                            permanent=result.error.code in _PERMANENT))
                    else:
                        out.append(Rendered(content_from_proto(result.content), result.variant, version))
            return out
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                grpc.StatusCode.FAILED_PRECONDITION):
                return [Rendered(error=f"{error.code().name}: {error.details()}", permanent=True) for _ in requests]
            raise unavailable("content", error) from None


def _code_name(value: int) -> str:
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code.name
    return f"code {value}"
