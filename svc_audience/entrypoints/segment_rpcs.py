"""Segment RPCs: definitions, membership and snapshots."""

from __future__ import annotations

import asyncio

from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import segment_pb2
from svc_kit import pagination
from svc_kit.channels import Channel
from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument
from svc_kit.proto_enums import channel_to_proto
from svc_kit.names import name_field, parent_field

from svc_audience.service_layer.ports import Snapshot
from svc_audience.domain.segments import Segment
from svc_audience.entrypoints.common import Rpcs, channel_of, profile_name, take
from svc_audience.entrypoints.mapping import profile_to_proto
from svc_audience.service_layer import segments as handlers


def _segment_name(value: str, field: str = "name") -> tuple[str, str]:
    return name_field(value, "segments", field)


def _snapshot_name(value: str, field: str = "name") -> tuple[str, str, str]:
    segment, _, snapshot_id = value.rpartition("/snapshots/")
    workspace, segment_id = _segment_name(segment, field)
    if not snapshot_id or "/" in snapshot_id:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `.../segments/{{segment}}/snapshots/{{id}}`"))
    return workspace, segment_id, snapshot_id


def snapshot_to_proto(s: Snapshot) -> segment_pb2.SegmentSnapshot:
    message = segment_pb2.SegmentSnapshot(
        name=f"workspaces/{s.workspace}/segments/{s.segment_id}/snapshots/{s.snapshot_id}",
        channel=channel_to_proto(Channel(s.channel)) if s.channel else 0, campaign=s.campaign,
        state=segment_pb2.SegmentSnapshot.STATE_READY, size=s.size, definition=s.definition)
    message.create_time.FromDatetime(s.create_time)
    return message


def _member(workspace: str, member, full: bool) -> segment_pb2.SegmentMember:
    if full:
        details = profile_to_proto(member)
        return segment_pb2.SegmentMember(profile=details.name, details=details)
    return segment_pb2.SegmentMember(profile=f"workspaces/{workspace}/profiles/{member}")


_KINDS = {"rules": segment_pb2.Segment.KIND_RULES, "lookalike": segment_pb2.Segment.KIND_LOOKALIKE,
          "static": segment_pb2.Segment.KIND_STATIC}


def segment_to_proto(segment: Segment, size: int | None = None) -> segment_pb2.Segment:
    lookalike = segment.kind == "lookalike"
    message = segment_pb2.Segment(
        name=f"workspaces/{segment.workspace}/segments/{segment.segment_id}", display_name=segment.display_name,
        description=segment.description, definition=segment.definition,
        kind=_KINDS.get(segment.kind, segment_pb2.Segment.KIND_RULES),
        lookalike=f"workspaces/{segment.workspace}/lookalikes/{segment.lookalike}" if lookalike else "",
        state=segment_pb2.Segment.STATE_COMPUTING if lookalike and segment.threshold is None
        else segment_pb2.Segment.STATE_ACTIVE, labels=segment.labels, etag=handlers.segment_etag(segment))
    if size is not None:
        message.size = size
    for stamp, value in ((message.create_time, segment.create_time), (message.update_time, segment.update_time)):
        if value:
            stamp.FromDatetime(value)
    return message


def _profile_ids(workspace: str, names) -> list[str]:
    """`workspaces/{w}/profiles/{p}` of the request's workspace -> p (a violation names `profiles[i]`)."""
    ids = []
    for i, name in enumerate(names):
        profile_workspace, external_id = profile_name(name, f"profiles[{i}]")
        if profile_workspace != workspace:
            raise InvalidArgument(FieldViolation(f"profiles[{i}]", f"must belong to workspace {workspace!r}"))
        ids.append(external_id)
    return ids


def _profile_names(workspace: str):
    return lambda ids: [f"workspaces/{workspace}/profiles/{i}" for i in ids]


class SegmentRpcs(Rpcs):
    async def CreateSegment(self, request: pb.CreateSegmentRequest, context):
        workspace = parent_field(request.parent)
        s = request.segment
        segment = await self._run(handlers.create_segment, workspace, request.segment_id, s.display_name,
                                  s.description, s.definition, dict(s.labels), self.segments, self.clock,
                                  self.new_id, request.validate_only, self.deps.upkeep,
                                  "static" if s.kind == segment_pb2.Segment.KIND_STATIC else "rules")
        return segment_to_proto(segment, await self._run(handlers.count_members, workspace, segment.segment_id,
                                                          None, self.segments, self.clock)
                                if not request.validate_only else 0)

    async def GetSegment(self, request: pb.GetSegmentRequest, context):
        workspace, segment_id = _segment_name(request.name)
        segment = await self._run(handlers.get_segment, workspace, segment_id, self.segments)
        size = await self._run(handlers.count_members, workspace, segment_id, None, self.segments, self.clock)
        return segment_to_proto(segment, size)

    async def ListSegments(self, request: pb.ListSegmentsRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "segment filters are not supported yet"))
        segments, token = await self._run(handlers.list_segments, parent_field(request.parent), request.page_size,
                                          request.page_token, self.segments)
        return pb.ListSegmentsResponse(segments=[segment_to_proto(s) for s in segments], next_page_token=token)

    async def UpdateSegment(self, request: pb.UpdateSegmentRequest, context):
        workspace, segment_id = _segment_name(request.segment.name, "segment.name")
        s = request.segment
        changes = {"display_name": s.display_name, "description": s.description, "definition": s.definition,
                   "labels": dict(s.labels)}
        segment = await self._run(handlers.update_segment, workspace, segment_id, changes,
                                  frozenset(request.update_mask.paths), s.etag, self.segments, self.clock,
                                  self.deps.upkeep, request.validate_only)
        size = await self._run(handlers.count_members, workspace, segment_id, None, self.segments, self.clock)
        return segment_to_proto(segment, size)

    async def DeleteSegment(self, request: pb.DeleteSegmentRequest, context):
        workspace, segment_id = _segment_name(request.name)
        await self._run(handlers.delete_segment, workspace, segment_id, self.segments, self.deps.upkeep, self.repo,
                        self.clock)
        return empty_pb2.Empty()

    async def RefreshSegment(self, request: pb.RefreshSegmentRequest, context):
        workspace, segment_id = _segment_name(request.name)
        if self.deps.upkeep is None:
            raise FailedPrecondition("this deployment keeps no memberships to refresh")
        segment = await self._run(handlers.refresh_segment, workspace, segment_id, self.segments, self.deps.upkeep)
        size = await self._run(handlers.count_members, workspace, segment_id, None, self.segments, self.clock)
        return segment_to_proto(segment, size)

    async def CountSegmentMembers(self, request: pb.CountSegmentMembersRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        count = await self._run(handlers.count_members, workspace, segment_id, channel_of(request.channel),
                                self.segments, self.clock, self.suppressions)
        response = pb.CountSegmentMembersResponse(count=count)
        response.count_time.FromDatetime(self.clock())
        return response

    async def AddSegmentMembers(self, request: pb.AddSegmentMembersRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        done = await self._run(handlers.change_static_members, workspace, segment_id,
                               _profile_ids(workspace, request.profiles), True, self.segments, self.repo, self.clock)
        named = _profile_names(workspace)
        return pb.AddSegmentMembersResponse(added=named(done.changed), unchanged=named(done.unchanged),
                                            not_found=named(done.not_found))

    async def RemoveSegmentMembers(self, request: pb.RemoveSegmentMembersRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        done = await self._run(handlers.change_static_members, workspace, segment_id,
                               _profile_ids(workspace, request.profiles), False, self.segments, self.repo,
                               self.clock)
        named = _profile_names(workspace)
        return pb.RemoveSegmentMembersResponse(removed=named(done.changed), unchanged=named(done.unchanged),
                                               not_found=named(done.not_found))

    async def CheckSegmentMembership(self, request: pb.CheckSegmentMembershipRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        ids = _profile_ids(workspace, request.profiles)
        found = await self._run(handlers.check_membership, workspace, segment_id, ids, self.segments, self.clock)
        return pb.CheckSegmentMembershipResponse(memberships=[
            pb.Membership(profile=f"workspaces/{workspace}/profiles/{i}", member=member) for i, member in found.items()])

    async def ListSegmentMembers(self, request: pb.ListSegmentMembersRequest, context):
        if "/snapshots/" in request.parent:
            workspace, segment_id, snapshot_id = _snapshot_name(request.parent, "parent")
            page = await self._run(handlers.list_snapshot_members, workspace, segment_id, snapshot_id,
                                   request.page_size, request.page_token, self.snapshots)
            return pb.ListSegmentMembersResponse(members=[_member(workspace, m, False) for m in page.members],
                                                 next_page_token=page.next_page_token)
        workspace, segment_id = _segment_name(request.parent, "parent")
        full = request.view == segment_pb2.MEMBER_VIEW_FULL
        page = await self._run(handlers.list_members, workspace, segment_id, channel_of(request.channel), full,
                               request.page_size, request.page_token, self.segments, self.clock,
                               self.suppressions)
        return pb.ListSegmentMembersResponse(members=[_member(workspace, m, full) for m in page.members],
                                             next_page_token=page.next_page_token)

    async def StreamSegmentMembers(self, request: pb.StreamSegmentMembersRequest, context):
        """Members in batches from one database cursor; a resume token after each
        batch lets a client that lost the stream carry on where it was."""
        workspace, segment_id = _segment_name(request.parent, "parent")
        if not 0 <= request.batch_size <= 10_000:
            raise InvalidArgument(FieldViolation("batch_size", "from 1 to 10,000 (default 1,000)"))
        batch_size = request.batch_size or 1000
        full = request.view == segment_pb2.MEMBER_VIEW_FULL
        query_key = pagination.fingerprint(workspace, segment_id, request.channel, "stream")
        position = pagination.decode_token(request.resume_token, query_key)
        query = await self._run(handlers.members_query, workspace, segment_id, channel_of(request.channel),
                                self.segments, self.clock, self.suppressions)
        members = self.segments.stream(query, str(position[0]) if position else "", full, batch_size)
        loop = asyncio.get_running_loop()
        while batch := await loop.run_in_executor(self.executor, take, members, batch_size):
            last = batch[-1].external_id if full else batch[-1]
            yield pb.StreamSegmentMembersResponse(
                members=[_member(workspace, m, full) for m in batch],
                resume_token=pagination.encode_token([last], query_key))

    # -- snapshots --------------------------------------------------------------------------------------

    async def CreateSegmentSnapshot(self, request: pb.CreateSegmentSnapshotRequest, context):
        workspace, segment_id = _segment_name(request.parent, "parent")
        s = request.segment_snapshot
        if s.campaign:
            campaign_workspace, _ = name_field(s.campaign, "campaigns", "segment_snapshot.campaign")
            if campaign_workspace != workspace:
                raise InvalidArgument(FieldViolation("segment_snapshot.campaign",
                                                     f"must belong to workspace {workspace!r}"))
        snapshot = await self._run(handlers.create_snapshot, workspace, segment_id, request.segment_snapshot_id,
                                   channel_of(s.channel), s.campaign, self.segments, self.snapshots,
                                   self.suppressions, self.clock, self.new_id)
        return snapshot_to_proto(snapshot)

    async def GetSegmentSnapshot(self, request: pb.GetSegmentSnapshotRequest, context):
        found = await self._run(handlers.get_snapshot, *_snapshot_name(request.name), self.snapshots)
        return snapshot_to_proto(found)

    async def ListSegmentSnapshots(self, request: pb.ListSegmentSnapshotsRequest, context):
        workspace, segment_id = _segment_name(request.parent, "parent")
        page, token = await self._run(handlers.list_snapshots, workspace, segment_id, request.page_size,
                                      request.page_token, self.snapshots)
        return pb.ListSegmentSnapshotsResponse(segment_snapshots=[snapshot_to_proto(s) for s in page],
                                               next_page_token=token)

    async def DeleteSegmentSnapshot(self, request: pb.DeleteSegmentSnapshotRequest, context):
        await self._run(handlers.delete_snapshot, *_snapshot_name(request.name), self.snapshots)
        return empty_pb2.Empty()
