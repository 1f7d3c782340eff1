"""Privacy RPCs: EraseProfile (an erasure request), Get/ListErasureRequests, and
ExportProfileData (an access request: one document with a section per service)."""

from __future__ import annotations

from google.protobuf import json_format, timestamp_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import erasure_request_pb2
from svc_kit import privacy_rpc
from svc_kit.errors import Unimplemented
from svc_kit.names import name_field, parent_field

from svc_audience.domain.erasure import ErasureRequest
from svc_audience.entrypoints.common import Rpcs, profile_name
from svc_audience.service_layer import erasures
from svc_audience.service_layer import profiles as handlers

_E = erasure_request_pb2.ErasureRequest
_C = erasure_request_pb2.ErasureConfirmation


def _stamp(value) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def erasure_request_to_proto(r: ErasureRequest) -> erasure_request_pb2.ErasureRequest:
    message = _E(name=r.name, profile=f"workspaces/{r.workspace}/profiles/{r.profile}",
                 state=_E.STATE_COMPLETE if r.complete else _E.STATE_PENDING, create_time=_stamp(r.create_time))
    if r.complete_time is not None:
        message.complete_time.CopyFrom(_stamp(r.complete_time))
    for service in r.services:
        confirmation = r.confirmations.get(service)
        if confirmation is None:
            message.confirmations.add(service=service, state=_C.STATE_PENDING)
        else:
            message.confirmations.add(service=service, state=_C.STATE_CONFIRMED,
                                      confirm_time=_stamp(confirmation.confirm_time),
                                      counts={k: int(v) for k, v in confirmation.counts.items()})
    return message


class PrivacyRpcs(Rpcs):
    def _erasures(self):
        if self.deps.erasures is None:
            raise Unimplemented("erasure requests are not kept in this process")
        return self.deps.erasures

    async def EraseProfile(self, request: pb.EraseProfileRequest, context):
        workspace, external_id = profile_name(request.name)
        store = self._erasures()
        erasure_id = await self._run(handlers.delete_profile, workspace, external_id, request.etag, self.repo,
                                     self.deps.record_erasure)
        return erasure_request_to_proto(await self._run(erasures.get_erasure_request, workspace, erasure_id, store))

    async def GetErasureRequest(self, request: pb.GetErasureRequestRequest, context):
        workspace, erasure_id = name_field(request.name, "erasureRequests")
        return erasure_request_to_proto(
            await self._run(erasures.get_erasure_request, workspace, erasure_id, self._erasures()))

    async def ListErasureRequests(self, request: pb.ListErasureRequestsRequest, context):
        workspace = parent_field(request.parent)
        page, token = await self._run(erasures.list_erasure_requests, workspace, request.page_size,
                                      request.page_token, self._erasures())
        return pb.ListErasureRequestsResponse(erasure_requests=[erasure_request_to_proto(r) for r in page],
                                              next_page_token=token)

    async def ExportProfileData(self, request: pb.ExportProfileDataRequest, context):
        workspace, external_id = profile_name(request.name)
        if self.deps.export_sections is None:
            raise Unimplemented("access requests are not wired in this process")
        sections = await erasures.export_profile_data(workspace, external_id, self.deps.export_sections)
        response = pb.ExportProfileDataResponse(profile=f"workspaces/{workspace}/profiles/{external_id}",
                                                export_time=_stamp(self.clock()))
        for service, data in sections:
            response.sections.append(privacy_rpc.profile_data(service, data))
        return response


def to_json(message) -> dict:
    return json_format.MessageToDict(message)
