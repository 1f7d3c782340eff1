"""The audience service as syncs read it (service_layer/syncs.py Audience), over gRPC:
ListSegmentMembers (full view: email, phone, attributes) page by page: the segment's live
membership, which every run (full or incremental) reads. Blocking calls: the sync worker runs in
its own thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc

from marketing.audience.v1 import audience_service_pb2 as audience_pb, audience_service_pb2_grpc, segment_pb2
from svc_kit.errors import NotFound, Unavailable

from svc_integrations.domain.connectors import Member

PAGE = 5000
TIMEOUT = 60.0


def _attribute(attribute) -> str:
    kind = attribute.WhichOneof("value")
    if kind is None:
        return ""
    value = getattr(attribute, kind)
    if kind == "timestamp_value":
        return value.ToJsonString()
    if kind == "bool_value":
        return "true" if value else "false"
    if hasattr(value, "values"):
        return ",".join(str(v) for v in value.values)
    return str(value)


def member_of(profile, profile_id: str | None = None) -> Member:
    return Member(profile_id=profile_id or profile.name.rsplit("/", 1)[-1],
                  email=profile.email.strip().lower() or None, phone=profile.phone.strip() or None,
                  attributes={a.key: _attribute(a) for a in profile.attributes})


def _error(error: grpc.RpcError, what: str) -> Exception:
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return NotFound(what, f"{what} not found in the audience service")
    return Unavailable(f"the audience service answered {error.code().name}: {error.details()}")


class GrpcAudience:
    def __init__(self, channel_factory: Callable[[], grpc.Channel]):
        self._factory = channel_factory
        self._stub = None

    def _audience(self):
        if self._stub is None:
            self._stub = audience_service_pb2_grpc.AudienceServiceStub(self._factory())
        return self._stub

    def members(self, workspace: str, segment_id: str) -> Iterator[list[Member]]:
        segment = f"workspaces/{workspace}/segments/{segment_id}"
        token = ""
        while True:
            try:
                page = self._audience().ListSegmentMembers(audience_pb.ListSegmentMembersRequest(
                    parent=segment, view=segment_pb2.MEMBER_VIEW_FULL, page_size=PAGE, page_token=token),
                    timeout=TIMEOUT)
            except grpc.RpcError as error:
                raise _error(error, segment) from None
            yield [member_of(m.details, m.profile.rsplit("/", 1)[-1]) for m in page.members]
            token = page.next_page_token
            if not token:
                return
