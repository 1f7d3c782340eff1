"""The audience gRPC layer. Profile RPCs are implemented; segments,
suppression, lookalikes and the rest still answer UNIMPLEMENTED (the
generated base class) until their issue lands."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import segment_pb2, suppression_pb2
from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.channels import Channel
from svc_kit.names import ResourceNameError, parse_name, parse_parent

from svc_audience.adapters.repository import ProfileRepository
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.adapters.snapshot_store import Snapshot, SnapshotStore
from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.suppression import Reason, Suppression
from svc_audience.domain.segments import Segment
from svc_audience.domain.model import Profile
from svc_audience.entrypoints.mapping import data_from_proto, profile_to_proto
from svc_audience.service_layer import handlers

T = TypeVar("T")
IMPORT_BATCH = 1000
MAX_REPORTED_REJECTIONS = 10_000


def _parent(value: str) -> str:
    try:
        return parse_parent(value)
    except ResourceNameError as error:
        raise InvalidArgument(FieldViolation("parent", str(error))) from None


def _named(value: str, collection: str, field: str = "name") -> tuple[str, str]:
    try:
        return parse_name(value, collection)
    except ResourceNameError as error:
        raise InvalidArgument(FieldViolation(field, str(error))) from None


def _segment_name(value: str, field: str = "name") -> tuple[str, str]:
    return _named(value, "segments", field)


def _snapshot_name(value: str, field: str = "name") -> tuple[str, str, str]:
    segment, _, snapshot_id = value.rpartition("/snapshots/")
    workspace, segment_id = _segment_name(segment, field)
    if not snapshot_id or "/" in snapshot_id:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `.../segments/{{segment}}/snapshots/{{id}}`"))
    return workspace, segment_id, snapshot_id


def snapshot_to_proto(s: Snapshot) -> segment_pb2.SegmentSnapshot:
    message = segment_pb2.SegmentSnapshot(
        name=f"workspaces/{s.workspace}/segments/{s.segment_id}/snapshots/{s.snapshot_id}",
        channel=Channel(s.channel).to_proto() if s.channel else 0, campaign=s.campaign,
        state=segment_pb2.SegmentSnapshot.STATE_READY, size=s.size, definition=s.definition)
    message.create_time.FromDatetime(s.create_time)
    return message


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


def _take(iterator, count: int) -> list:
    return list(itertools.islice(iterator, count))


def _member(workspace: str, member, full: bool) -> segment_pb2.SegmentMember:
    if full:
        details = profile_to_proto(member)
        return segment_pb2.SegmentMember(profile=details.name, details=details)
    return segment_pb2.SegmentMember(profile=f"workspaces/{workspace}/profiles/{member}")


def _channel(value: int) -> Channel | None:
    if value == 0:
        return None
    channel = Channel.from_proto(value)
    if channel is None:
        raise InvalidArgument(FieldViolation("channel", f"must be one of {Channel.known_names()}"))
    return channel


def segment_to_proto(segment: Segment, size: int | None = None) -> segment_pb2.Segment:
    message = segment_pb2.Segment(
        name=f"workspaces/{segment.workspace}/segments/{segment.segment_id}", display_name=segment.display_name,
        description=segment.description, definition=segment.definition, kind=segment_pb2.Segment.KIND_RULES,
        state=segment_pb2.Segment.STATE_ACTIVE, labels=segment.labels)
    if size is not None:
        message.size = size
    for stamp, value in ((message.create_time, segment.create_time), (message.update_time, segment.update_time)):
        if value:
            stamp.FromDatetime(value)
    return message


def _profile_name(value: str, field: str = "name") -> tuple[str, str]:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "profiles":
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/profiles/{{id}}`"))
    workspace = _parent(f"workspaces/{parts[1]}")
    handlers.check_external_id(parts[3], field)
    return workspace, parts[3]


class AudienceServicer(pb_grpc.AudienceServiceServicer):
    def __init__(self, repository: ProfileRepository, clock: handlers.Clock, executor: Executor,
                 record_erasure: Callable[[Profile], None], segments: SegmentStore, new_id: Callable[[], str],
                 suppressions: SuppressionStore, snapshots: SnapshotStore):
        self.suppressions = suppressions
        self.snapshots = snapshots
        self.repo = repository
        self.segments = segments
        self.new_id = new_id
        self.clock = clock
        self.executor = executor
        self.record_erasure = record_erasure

    async def _run(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _data(self, request_profile):
        return data_from_proto(request_profile, self.clock())

    async def CreateProfile(self, request: pb.CreateProfileRequest, context):
        workspace = _parent(request.parent)
        profile = await self._run(handlers.create_profile, workspace, request.profile_id,
                                  self._data(request.profile), self.repo, self.clock, request.validate_only)
        return profile_to_proto(profile)

    async def GetProfile(self, request: pb.GetProfileRequest, context):
        workspace, external_id = _profile_name(request.name)
        return profile_to_proto(await self._run(handlers.get_profile, workspace, external_id, self.repo))

    async def ListProfiles(self, request: pb.ListProfilesRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "profile filters come with segments; list without one"))
        page = await self._run(handlers.list_profiles, _parent(request.parent), request.page_size,
                               request.page_token, self.repo)
        return pb.ListProfilesResponse(profiles=[profile_to_proto(p) for p in page.profiles],
                                       next_page_token=page.next_page_token)

    async def UpsertProfile(self, request: pb.UpsertProfileRequest, context):
        workspace, external_id = _profile_name(request.name)
        profile, created = await self._run(handlers.upsert_profile, workspace, external_id,
                                           self._data(request.profile), tuple(request.remove_attributes),
                                           request.etag, self.repo, self.clock)
        return pb.UpsertProfileResponse(profile=profile_to_proto(profile), created=created)

    async def UpdateProfile(self, request: pb.UpdateProfileRequest, context):
        workspace, external_id = _profile_name(request.profile.name, "profile.name")
        profile = await self._run(handlers.update_profile, workspace, external_id, self._data(request.profile),
                                  frozenset(request.update_mask.paths), request.profile.etag, self.repo, self.clock)
        return profile_to_proto(profile)

    async def ImportProfiles(self, request_iterator, context):
        summary = handlers.ImportSummary()
        workspace, replace_existing, validate_only = None, False, False
        batch: list[handlers.ImportRecord] = []

        async def flush() -> None:
            if batch:
                await self._run(handlers.import_batch, workspace, list(batch), replace_existing, validate_only,
                                self.repo, self.clock, summary)
                batch.clear()

        async for request in request_iterator:
            if workspace is None:
                workspace = _parent(request.parent)
                replace_existing, validate_only = request.replace, request.validate_only
            elif request.parent and request.parent != f"workspaces/{workspace}":
                raise InvalidArgument(FieldViolation("parent", "every message must name the first one's workspace"))
            if len(request.records) > IMPORT_BATCH:
                raise InvalidArgument(FieldViolation("records", f"at most {IMPORT_BATCH} records per message"))
            now = self.clock()
            for record in request.records:
                summary.received += 1
                line = record.line or summary.received
                try:
                    data = data_from_proto(record.profile, now)
                except InvalidArgument as error:
                    first = error.violations[0]
                    summary.reject(line, record.profile_id, first.field, first.description)
                    continue
                batch.append(handlers.ImportRecord(line, record.profile_id, data))
            if len(batch) >= IMPORT_BATCH:
                await flush()
        if workspace is None:
            raise InvalidArgument(FieldViolation("parent", "required in the first message"))
        await flush()
        rejections = sorted(summary.rejections)[:MAX_REPORTED_REJECTIONS]
        return pb.ImportProfilesResponse(
            received=summary.received, inserted=summary.inserted, updated=summary.updated,
            rejected=summary.rejected,
            rejections=[pb.RejectedRecord(line=line, id=external_id, field=field, reason=reason)
                        for line, external_id, field, reason in rejections])

    async def DeleteProfile(self, request: pb.DeleteProfileRequest, context):
        workspace, external_id = _profile_name(request.name)
        await self._run(handlers.delete_profile, workspace, external_id, request.etag, self.repo,
                        self.record_erasure)
        return empty_pb2.Empty()

    # -- segments ---------------------------------------------------------------------------------------

    async def CreateSegment(self, request: pb.CreateSegmentRequest, context):
        workspace = _parent(request.parent)
        s = request.segment
        segment = await self._run(handlers.create_segment, workspace, request.segment_id, s.display_name,
                                  s.description, s.definition, dict(s.labels), self.segments, self.clock,
                                  self.new_id, request.validate_only)
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
        segments, token = await self._run(handlers.list_segments, _parent(request.parent), request.page_size,
                                          request.page_token, self.segments)
        return pb.ListSegmentsResponse(segments=[segment_to_proto(s) for s in segments], next_page_token=token)

    async def DeleteSegment(self, request: pb.DeleteSegmentRequest, context):
        workspace, segment_id = _segment_name(request.name)
        await self._run(handlers.delete_segment, workspace, segment_id, self.segments)
        return empty_pb2.Empty()

    async def CountSegmentMembers(self, request: pb.CountSegmentMembersRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        count = await self._run(handlers.count_members, workspace, segment_id, _channel(request.channel),
                                self.segments, self.clock, self.suppressions)
        response = pb.CountSegmentMembersResponse(count=count)
        response.count_time.FromDatetime(self.clock())
        return response

    async def CheckSegmentMembership(self, request: pb.CheckSegmentMembershipRequest, context):
        workspace, segment_id = _segment_name(request.segment, "segment")
        ids = []
        for i, name in enumerate(request.profiles):
            profile_workspace, external_id = _profile_name(name, f"profiles[{i}]")
            if profile_workspace != workspace:
                raise InvalidArgument(FieldViolation(f"profiles[{i}]", f"must belong to workspace {workspace!r}"))
            ids.append(external_id)
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
        page = await self._run(handlers.list_members, workspace, segment_id, _channel(request.channel), full,
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
        query = await self._run(handlers.members_query, workspace, segment_id, _channel(request.channel),
                                self.segments, self.clock, self.suppressions)
        members = self.segments.stream(query, str(position[0]) if position else "", full, batch_size)
        loop = asyncio.get_running_loop()
        while batch := await loop.run_in_executor(self.executor, _take, members, batch_size):
            last = batch[-1].external_id if full else batch[-1]
            yield pb.StreamSegmentMembersResponse(
                members=[_member(workspace, m, full) for m in batch],
                resume_token=pagination.encode_token([last], query_key))

    # -- snapshots --------------------------------------------------------------------------------------

    async def CreateSegmentSnapshot(self, request: pb.CreateSegmentSnapshotRequest, context):
        workspace, segment_id = _segment_name(request.parent, "parent")
        s = request.segment_snapshot
        snapshot = await self._run(handlers.create_snapshot, workspace, segment_id, request.segment_snapshot_id,
                                   _channel(s.channel), s.campaign, self.segments, self.snapshots,
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

    # -- suppression ------------------------------------------------------------------------------------

    async def CreateSuppression(self, request: pb.CreateSuppressionRequest, context):
        workspace = _parent(request.parent)
        s = request.suppression
        kind = s.WhichOneof("subject") or ""
        subject = getattr(s, kind) if kind else ""
        if kind == "profile":
            profile_workspace, subject = _profile_name(s.profile, "suppression.profile")
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
        workspace, suppression_id = _named(request.name, "suppressions")
        return suppression_to_proto(await self._run(handlers.get_suppression, workspace, suppression_id,
                                                    self.suppressions))

    async def ListSuppressions(self, request: pb.ListSuppressionsRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "suppression filters are not supported yet"))
        page, token = await self._run(handlers.list_suppressions, _parent(request.parent), request.page_size,
                                      request.page_token, self.suppressions)
        return pb.ListSuppressionsResponse(suppressions=[suppression_to_proto(s) for s in page],
                                           next_page_token=token)

    async def DeleteSuppression(self, request: pb.DeleteSuppressionRequest, context):
        workspace, suppression_id = _named(request.name, "suppressions")
        await self._run(handlers.delete_suppression, workspace, suppression_id, self.suppressions)
        return empty_pb2.Empty()
