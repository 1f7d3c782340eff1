"""The sources RPCs (CreateSource, GetSource, ListSources, RevokeSource): a mixin of
IntegrationsServicer (grpc_servicer.py), which holds `sources` and `executor`."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from marketing.integrations.v1 import integrations_service_pb2 as pb, source_pb2
from svc_kit.errors import Unimplemented
from svc_kit.executor import run_blocking
from svc_kit.pagination import fingerprint, timed_keyset_page

from svc_integrations.domain.sources import Source


def _timestamp(value) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def source_to_proto(source: Source, plain: str = "") -> source_pb2.Source:
    message = source_pb2.Source(name=source.name, display_name=source.display_name, write_key=plain,
                                write_key_prefix=source.write_key_prefix, create_time=_timestamp(source.create_time))
    if source.revoke_time is not None:
        message.revoke_time.CopyFrom(_timestamp(source.revoke_time))
    if source.last_used_time is not None:
        message.last_used_time.CopyFrom(_timestamp(source.last_used_time))
    return message


class SourcesApi:
    sources = None
    executor = None

    def _sources(self):
        if self.sources is None:
            raise Unimplemented("sources are not configured in this process")
        return self.sources

    async def CreateSource(self, request: pb.CreateSourceRequest, context) -> source_pb2.Source:
        source, plain = await run_blocking(self.executor, self._sources().create, request.parent,
                                           request.source.display_name)
        return source_to_proto(source, plain)

    async def GetSource(self, request: pb.GetSourceRequest, context) -> source_pb2.Source:
        return source_to_proto(await run_blocking(self.executor, self._sources().get, request.name))

    async def ListSources(self, request: pb.ListSourcesRequest, context) -> pb.ListSourcesResponse:
        sources = self._sources()

        def page():
            return timed_keyset_page(lambda after, limit: sources.list(request.parent, after, limit),
                                     lambda s: (s.create_time, s.id), request.page_size, request.page_token,
                                     fingerprint("sources", request.parent))

        found, token = await run_blocking(self.executor, page)
        return pb.ListSourcesResponse(sources=[source_to_proto(s) for s in found], next_page_token=token)

    async def RevokeSource(self, request: pb.RevokeSourceRequest, context) -> source_pb2.Source:
        return source_to_proto(await run_blocking(self.executor, self._sources().revoke, request.name))
