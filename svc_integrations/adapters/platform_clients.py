"""The audience and analytics services over gRPC, behind the collector's ports: a
profile change becomes UpsertProfile, behaviour events IngestEvents. Channels open on
first use; retries and circuit breaking are the mesh's. A refusal of the data
(INVALID_ARGUMENT) is the caller's 400; anything else is Unavailable (503: the SDKs
retry)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import grpc
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from marketing.analytics.v1 import analytics_service_pb2 as analytics_pb, analytics_service_pb2_grpc as analytics_grpc
from marketing.analytics.v1 import event_pb2
from marketing.audience.v1 import audience_service_pb2 as audience_pb, audience_service_pb2_grpc as audience_grpc
from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2
from svc_kit.errors import FieldViolation, InvalidArgument, Unavailable
from svc_kit.clients import Peer

from svc_integrations.domain.collect import BehaviourEvent, ProfileChange, Value

log = logging.getLogger(__name__)
CALL_TIMEOUT = 10.0


def attribute(key: str, value: Value) -> attribute_pb2.Attribute:
    message = attribute_pb2.Attribute(key=key)
    if isinstance(value, bool):
        message.bool_value = value
    elif isinstance(value, int):
        message.int_value = value
    elif isinstance(value, float):
        message.double_value = value
    elif isinstance(value, tuple):
        message.string_list_value.values.extend(value)
    else:
        message.string_value = value
    return message


def _violations(error: grpc.aio.AioRpcError, prefix: str) -> list[FieldViolation]:
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError, TypeError):
        status = None
    found = []
    for detail in (status or status_pb2.Status()).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found += [FieldViolation(f"{prefix}{v.field}", v.description) for v in request.field_violations]
    return found or [FieldViolation(prefix.rstrip("."), error.details() or "refused")]


def _refused(service: str, error: grpc.aio.AioRpcError, prefix: str) -> Exception:
    if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(_violations(error, prefix))
    return Unavailable(f"the {service} service did not take the call: {error.code().name}: {error.details()}")


class GrpcProfiles(Peer):
    """ProfileSink: audience's UpsertProfile (merge)."""

    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        super().__init__(channel_factory, audience_grpc.AudienceServiceStub)

    async def upsert(self, workspace: str, change: ProfileChange) -> None:
        name = f"workspaces/{workspace}/profiles/{change.profile}"
        profile = profile_pb2.Profile(email=change.email, phone=change.phone,
                                      attributes=[attribute(k, v) for k, v in change.attributes.items()])
        try:
            await self.stub.UpsertProfile(audience_pb.UpsertProfileRequest(name=name, profile=profile),
                                          timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _refused("audience", error, f"profile {change.profile}: ") from None


def _stamp(value) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def event_to_proto(event: BehaviourEvent) -> event_pb2.Event:
    return event_pb2.Event(event_id=event.event_id, type=event.type, profile=event.profile,
                           event_time=_stamp(event.event_time), source=event.source,
                           properties=[attribute(k, v) for k, v in event.properties.items()])


class GrpcEvents(Peer):
    """EventSink: analytics' IngestEvents (which publishes event_tracked)."""

    def __init__(self, channel_factory: Callable[[], grpc.aio.Channel]):
        super().__init__(channel_factory, analytics_grpc.AnalyticsServiceStub)

    async def ingest(self, workspace: str, events: Sequence[BehaviourEvent]) -> int:
        try:
            response = await self.stub.IngestEvents(analytics_pb.IngestEventsRequest(
                parent=f"workspaces/{workspace}", events=[event_to_proto(e) for e in events]), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _refused("analytics", error, "events: ") from None
        for rejected in response.rejected:
            log.warning("analytics refused collected event %s: %s %s", events[rejected.index].event_id,
                        rejected.field, rejected.reason)
        return len(response.rejected)
