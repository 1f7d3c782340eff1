"""The Segment HTTP Tracking API (`POST /v1/track` ... `/v1/batch`): a mixin of
IntegrationsServicer (grpc_servicer.py), which holds `collector`.

The edge lets these calls through without its own credential check (they are public
in svc_kit.authz) and the transcoder hands over the raw JSON body (google.api.HttpBody);
the write key comes in the `authorization` metadata (HTTP Basic) or the body's
`writeKey`, and is checked here. The answer is Segment's `{"success": true}`."""

from __future__ import annotations

from google.api import httpbody_pb2

from marketing.integrations.v1 import integrations_service_pb2 as pb
from svc_kit.errors import Unimplemented

_SUCCESS = httpbody_pb2.HttpBody(content_type="application/json", data=b'{"success":true}')


def _authorization(context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode(errors="replace")
    return ""


class CollectApi:
    collector = None

    async def _collect(self, kind: str, request, context) -> httpbody_pb2.HttpBody:
        if self.collector is None:
            raise Unimplemented("event collection is not configured in this process")
        await self.collector.collect(kind, request.http_body.data, _authorization(context))
        return _SUCCESS

    async def SegmentTrack(self, request: pb.SegmentTrackRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("track", request, context)

    async def SegmentIdentify(self, request: pb.SegmentIdentifyRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("identify", request, context)

    async def SegmentPage(self, request: pb.SegmentPageRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("page", request, context)

    async def SegmentScreen(self, request: pb.SegmentScreenRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("screen", request, context)

    async def SegmentGroup(self, request: pb.SegmentGroupRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("group", request, context)

    async def SegmentAlias(self, request: pb.SegmentAliasRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("alias", request, context)

    async def SegmentBatch(self, request: pb.SegmentBatchRequest, context) -> httpbody_pb2.HttpBody:
        return await self._collect("batch", request, context)
