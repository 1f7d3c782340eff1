"""Suppression list RPCs."""

from __future__ import annotations

from datetime import UTC

from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import suppression_pb2
from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_audience.domain.suppression import Reason, Suppression
from svc_audience.entrypoints.common import Rpcs, named, parent_of, profile_name
from svc_audience.service_layer import suppressions as handlers


_REASONS = {suppression_pb2.Suppression.Reason.Value(f"REASON_{r.value}"): r for r in Reason}


def suppression_to_proto(s: Suppression) -> suppression_pb2.Suppression:
    message = suppression_pb2.Suppression(
        name=f"workspaces/{s.workspace}/suppressions/{s.suppression_id}",
        channel=s.channel.to_proto() if s.channel else 0,
        reason=suppression_pb2.Suppression.Reason.Value(f"REASON_{s.reason.value}"), note=s.note, source=s.source)
    if s.subject_kind == "profile":
        message.profile = f"workspaces/{s.workspace}/profiles/{s.subject}"
    else:
        setattr(message, s.subject_kind, s.subject)
    if s.expire_time:
        message.expire_time.FromDatetime(s.expire_time)
    if s.create_time:
        message.create_time.FromDatetime(s.create_time)
        message.update_time.FromDatetime(s.create_time)
    return message


class SuppressionRpcs(Rpcs):
    async def CreateSuppression(self, request: pb.CreateSuppressionRequest, context):
        workspace = parent_of(request.parent)
        s = request.suppression
        kind = s.WhichOneof("subject") or ""
        subject = getattr(s, kind) if kind else ""
        if kind == "profile":
            profile_workspace, subject = profile_name(s.profile, "suppression.profile")
            if profile_workspace != workspace:
                raise InvalidArgument(FieldViolation("suppression.profile", f"must belong to workspace {workspace!r}"))
        channel = None
        if s.channel:
            channel = Channel.from_proto(s.channel)
            if channel is None:
                raise InvalidArgument(FieldViolation("suppression.channel", f"one of {Channel.known_names()}"))
        reason = _REASONS.get(s.reason)
        expire = s.expire_time.ToDatetime(tzinfo=UTC) if s.HasField("expire_time") else None
        created = await self._run(handlers.create_suppression, workspace, kind, subject,
                                  channel, reason, s.note, s.source, expire, self.suppressions, self.clock,
                                  self.new_id)
        return suppression_to_proto(created)

    async def GetSuppression(self, request: pb.GetSuppressionRequest, context):
        workspace, suppression_id = named(request.name, "suppressions")
        return suppression_to_proto(await self._run(handlers.get_suppression, workspace, suppression_id,
                                                    self.suppressions))

    async def ListSuppressions(self, request: pb.ListSuppressionsRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "suppression filters are not supported yet"))
        page, token = await self._run(handlers.list_suppressions, parent_of(request.parent), request.page_size,
                                      request.page_token, self.suppressions)
        return pb.ListSuppressionsResponse(suppressions=[suppression_to_proto(s) for s in page],
                                           next_page_token=token)

    async def DeleteSuppression(self, request: pb.DeleteSuppressionRequest, context):
        workspace, suppression_id = named(request.name, "suppressions")
        await self._run(handlers.delete_suppression, workspace, suppression_id, self.suppressions)
        return empty_pb2.Empty()
