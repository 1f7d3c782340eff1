"""Lookalike RPCs: create, read, list, change, delete and refit. Fitting runs
in the background; these answer at once (STATE_TRAINING)."""

from __future__ import annotations

from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import segment_pb2
from svc_kit.errors import FieldViolation, InvalidArgument, Unimplemented
from svc_kit.names import name_field, parent_field

from svc_audience.domain.lookalike import Lookalike
from svc_audience.entrypoints.common import Rpcs
from svc_audience.service_layer import lookalikes as handlers

_STATES = {"TRAINING": segment_pb2.Lookalike.STATE_TRAINING, "READY": segment_pb2.Lookalike.STATE_READY,
           "FAILED": segment_pb2.Lookalike.STATE_FAILED}


def lookalike_to_proto(lookalike: Lookalike) -> segment_pb2.Lookalike:
    ws = lookalike.workspace
    message = segment_pb2.Lookalike(
        name=lookalike.name, display_name=lookalike.display_name, description=lookalike.description,
        seed_segment=f"workspaces/{ws}/segments/{lookalike.seed_segment}", features=list(lookalike.features),
        include_seed_members=bool(lookalike.include_seed_members),
        segment=f"workspaces/{ws}/segments/{lookalike.segment_id}", state=_STATES[lookalike.state],
        state_message=lookalike.state_message, size=lookalike.size, labels=lookalike.labels, etag=lookalike.etag)
    if lookalike.top_n is not None:
        message.top_n = lookalike.top_n
    elif lookalike.min_score is not None:
        message.min_score = lookalike.min_score
    progress = lookalike.progress
    if progress.start_ms:
        message.progress.done, message.progress.total = progress.done, progress.total
        message.progress.start_time.FromMilliseconds(progress.start_ms)
        message.progress.update_time.FromMilliseconds(progress.update_ms or progress.start_ms)
    if lookalike.quality is not None:
        q = lookalike.quality
        message.quality.CopyFrom(segment_pb2.LookalikeQuality(
            precision_at_n=q.precision_at_n, baseline_precision=q.baseline_precision, auc=q.auc,
            seed_size=q.seed_size))
    for stamp, value in ((message.fit_time, lookalike.fit_time), (message.create_time, lookalike.create_time),
                         (message.update_time, lookalike.update_time)):
        if value:
            stamp.FromDatetime(value)
    return message


def _spec(message: segment_pb2.Lookalike) -> handlers.LookalikeSpec:
    cutoff = message.WhichOneof("cutoff")
    return handlers.LookalikeSpec(
        display_name=message.display_name, description=message.description, seed_segment=message.seed_segment,
        top_n=message.top_n if cutoff == "top_n" else None,
        min_score=message.min_score if cutoff == "min_score" else None, features=tuple(message.features),
        include_seed_members=message.include_seed_members, labels=dict(message.labels))


def _lookalike_name(value: str, field: str = "name") -> tuple[str, str]:
    return name_field(value, "lookalikes", field)


class LookalikeRpcs(Rpcs):
    @property
    def _lookalikes(self):
        if self.deps.lookalikes is None:
            raise Unimplemented("lookalikes are not set up in this deployment")
        return self.deps.lookalikes

    async def CreateLookalike(self, request: pb.CreateLookalikeRequest, context):
        workspace = parent_field(request.parent)
        created = await self._run(handlers.create_lookalike, workspace, request.lookalike_id,
                                  _spec(request.lookalike), request.request_id, request.validate_only,
                                  self._lookalikes, self.segments, self.clock, self.new_id,
                                  self.deps.wake_lookalike_worker)
        return lookalike_to_proto(created)

    async def GetLookalike(self, request: pb.GetLookalikeRequest, context):
        workspace, lookalike_id = _lookalike_name(request.name)
        return lookalike_to_proto(await self._run(handlers.get_lookalike, workspace, lookalike_id,
                                                  self._lookalikes))

    async def ListLookalikes(self, request: pb.ListLookalikesRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "lookalike filters are not supported yet"))
        page, token = await self._run(handlers.list_lookalikes, parent_field(request.parent), request.page_size,
                                      request.page_token, self._lookalikes)
        return pb.ListLookalikesResponse(lookalikes=[lookalike_to_proto(x) for x in page], next_page_token=token)

    async def UpdateLookalike(self, request: pb.UpdateLookalikeRequest, context):
        workspace, lookalike_id = _lookalike_name(request.lookalike.name, "lookalike.name")
        updated = await self._run(handlers.update_lookalike, workspace, lookalike_id, _spec(request.lookalike),
                                  frozenset(request.update_mask.paths), request.lookalike.etag, self._lookalikes,
                                  self.clock, self.deps.wake_lookalike_worker)
        return lookalike_to_proto(updated)

    async def DeleteLookalike(self, request: pb.DeleteLookalikeRequest, context):
        workspace, lookalike_id = _lookalike_name(request.name)
        await self._run(handlers.delete_lookalike, workspace, lookalike_id, request.etag, self._lookalikes,
                        self.segments, self.deps.upkeep)
        return empty_pb2.Empty()

    async def RefitLookalike(self, request: pb.RefitLookalikeRequest, context):
        workspace, lookalike_id = _lookalike_name(request.name)
        refitted = await self._run(handlers.refit_lookalike, workspace, lookalike_id, request.etag,
                                   self._lookalikes, self.clock, self.deps.wake_lookalike_worker)
        return lookalike_to_proto(refitted)
