"""CheckReachability: may a message go to these profiles on this channel now?"""

from __future__ import annotations

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.common.v1 import message_content_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import parent_field

from svc_audience.domain.suppression import Category
from svc_audience.entrypoints.common import Rpcs, channel_of, profile_name
from svc_audience.service_layer import reachability as handlers
from svc_audience.service_layer.reachability import MAX_PROFILES

_CATEGORIES = {
    message_content_pb2.MESSAGE_CATEGORY_UNSPECIFIED: Category.MARKETING,
    message_content_pb2.MESSAGE_CATEGORY_MARKETING: Category.MARKETING,
    message_content_pb2.MESSAGE_CATEGORY_TRANSACTIONAL: Category.TRANSACTIONAL,
}


class ReachabilityRpcs(Rpcs):
    async def CheckReachability(self, request: pb.CheckReachabilityRequest, context):
        workspace = parent_field(request.parent)
        channel = channel_of(request.channel)
        if channel is None:
            raise InvalidArgument(FieldViolation("channel", "required: the channel of the intended message"))
        category = _CATEGORIES.get(request.category)
        if category is None:
            raise InvalidArgument(FieldViolation("category", "MESSAGE_CATEGORY_MARKETING or "
                                                             "MESSAGE_CATEGORY_TRANSACTIONAL"))
        if not 0 < len(request.profiles) <= MAX_PROFILES:
            raise InvalidArgument(FieldViolation("profiles", f"give 1 to {MAX_PROFILES:,} profiles"))
        ids = []
        for i, name in enumerate(request.profiles):
            profile_workspace, external_id = profile_name(name, f"profiles[{i}]")
            if profile_workspace != workspace:
                raise InvalidArgument(FieldViolation(f"profiles[{i}]", f"must belong to workspace {workspace!r}"))
            ids.append(external_id)
        results = await self._run(handlers.check_reachability, workspace, channel, category, ids, self.repo,
                                  self.suppressions, self.clock)
        return pb.CheckReachabilityResponse(results=[
            pb.Reachability(
                profile=f"workspaces/{workspace}/profiles/{r.external_id}", reachable=r.reachable,
                reason=pb.Reachability.Reason.Value(f"REASON_{r.reason.value}") if r.reason else 0,
                suppression=r.suppression.name if r.suppression else "")
            for r in results])
