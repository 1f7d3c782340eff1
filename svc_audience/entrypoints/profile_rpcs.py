"""Profile RPCs: CRUD, upsert, bulk import and erasure."""

from __future__ import annotations

import asyncio

from google.protobuf import empty_pb2

from marketing.audience.v1 import audience_service_pb2 as pb
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import parent_field

from svc_audience.entrypoints.common import Rpcs, profile_name
from svc_audience.entrypoints.mapping import data_from_proto, profile_to_proto
from svc_audience.service_layer import profiles as handlers

IMPORT_BATCH = 1000
IMPORT_IN_FLIGHT = 2  # batches of one import being stored at once (never two naming the same profile)
MAX_REPORTED_REJECTIONS = 10_000


class ProfileRpcs(Rpcs):
    def _data(self, request_profile):
        return data_from_proto(request_profile, self.clock())

    async def CreateProfile(self, request: pb.CreateProfileRequest, context):
        workspace = parent_field(request.parent)
        profile = await self._run(handlers.create_profile, workspace, request.profile_id,
                                  self._data(request.profile), self.repo, self.clock, request.validate_only)
        return profile_to_proto(profile)

    async def GetProfile(self, request: pb.GetProfileRequest, context):
        workspace, external_id = profile_name(request.name)
        return profile_to_proto(await self._run(handlers.get_profile, workspace, external_id, self.repo))

    async def BatchGetProfiles(self, request: pb.BatchGetProfilesRequest, context):
        workspace = parent_field(request.parent)
        ids = []
        for i, name in enumerate(request.names):
            profile_workspace, external_id = profile_name(name, f"names[{i}]")
            if profile_workspace != workspace:
                raise InvalidArgument(FieldViolation(f"names[{i}]", f"must belong to workspace {workspace!r}"))
            ids.append(external_id)
        found = await self._run(handlers.batch_get_profiles, workspace, ids, request.allow_missing, self.repo)
        return pb.BatchGetProfilesResponse(profiles=[profile_to_proto(p) for p in found])

    async def ListProfiles(self, request: pb.ListProfilesRequest, context):
        if request.filter:
            raise InvalidArgument(FieldViolation("filter", "profile filters come with segments; list without one"))
        page = await self._run(handlers.list_profiles, parent_field(request.parent), request.page_size,
                               request.page_token, self.repo)
        return pb.ListProfilesResponse(profiles=[profile_to_proto(p) for p in page.profiles],
                                       next_page_token=page.next_page_token)

    async def UpsertProfile(self, request: pb.UpsertProfileRequest, context):
        workspace, external_id = profile_name(request.name)
        profile, created = await self._run(handlers.upsert_profile, workspace, external_id,
                                           self._data(request.profile), tuple(request.remove_attributes),
                                           request.etag, self.repo, self.clock)
        return pb.UpsertProfileResponse(profile=profile_to_proto(profile), created=created)

    async def UpdateProfile(self, request: pb.UpdateProfileRequest, context):
        workspace, external_id = profile_name(request.profile.name, "profile.name")
        profile = await self._run(handlers.update_profile, workspace, external_id, self._data(request.profile),
                                  frozenset(request.update_mask.paths), request.profile.etag, self.repo, self.clock)
        return profile_to_proto(profile)

    async def ImportProfiles(self, request_iterator, context):
        summary = handlers.ImportSummary()
        workspace, replace_existing, validate_only = None, False, False
        batch: list[handlers.ImportRecord] = []
        # A batch is stored while the next ones are read and checked: up to
        # IMPORT_IN_FLIGHT at once, each with a summary of its own; a batch
        # naming a profile of one in flight waits for it, so a later line for a
        # profile still lands after an earlier one.
        in_flight: list[tuple[asyncio.Future, frozenset[str], handlers.ImportSummary]] = []

        async def settle(entry: tuple[asyncio.Future, frozenset[str], handlers.ImportSummary]) -> None:
            in_flight.remove(entry)
            future, _, part = entry
            await future
            summary.inserted += part.inserted
            summary.updated += part.updated
            summary.rejections.extend(part.rejections)

        async def flush() -> None:
            if not batch:
                return
            records, ids = list(batch), frozenset(r.external_id for r in batch)
            batch.clear()
            for entry in [e for e in in_flight if e[1] & ids]:
                await settle(entry)
            while len(in_flight) >= IMPORT_IN_FLIGHT:
                await settle(in_flight[0])
            part = handlers.ImportSummary()
            future = asyncio.ensure_future(self._run(handlers.import_batch, workspace, records, replace_existing,
                                                     validate_only, self.repo, self.clock, part))
            # Should the call end early (an error, a cancelled stream), what is still
            # being stored finishes on its own, its outcome taken here.
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            in_flight.append((future, ids, part))

        async for request in request_iterator:
            if workspace is None:
                workspace = parent_field(request.parent)
                replace_existing, validate_only = request.replace, request.validate_only
            elif request.parent and request.parent != f"workspaces/{workspace}":
                raise InvalidArgument(FieldViolation("parent", "every message must name the first one's workspace"))
            # at most IMPORT_BATCH records per message: a rule of audience_service.proto (svc_kit.validation)
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
        while in_flight:
            await settle(in_flight[0])
        rejections = sorted(summary.rejections)[:MAX_REPORTED_REJECTIONS]
        return pb.ImportProfilesResponse(
            received=summary.received, inserted=summary.inserted, updated=summary.updated,
            rejected=summary.rejected,
            rejections=[pb.RejectedRecord(line=line, id=external_id, field=field, reason=reason)
                        for line, external_id, field, reason in rejections])

    async def DeleteProfile(self, request: pb.DeleteProfileRequest, context):
        workspace, external_id = profile_name(request.name)
        await self._run(handlers.delete_profile, workspace, external_id, request.etag, self.repo,
                        self.deps.record_erasure)
        return empty_pb2.Empty()
