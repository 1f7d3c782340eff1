"""gRPC of syncs and their runs (a mixin of IntegrationsServicer): thin translation between the
protos and service_layer/syncs.py."""

from __future__ import annotations

from google.protobuf import empty_pb2
from google.rpc import status_pb2

from marketing.common.v1 import operation_pb2
from marketing.integrations.v1 import connector_pb2, integrations_service_pb2 as pb, sync_pb2
from svc_kit.executor import run_blocking
from svc_kit.pagination import fingerprint, timed_keyset_page

from svc_integrations.entrypoints import list_filters
from svc_integrations.domain.syncs import Sync, SyncRun
from svc_integrations.entrypoints.connections_api import timestamp
from svc_integrations.service_layer.syncs import EXPORT, SEGMENT_MEMBERS, SyncInput, Syncs

_MODES = {"INCREMENTAL": sync_pb2.Sync.MODE_INCREMENTAL, "FULL": sync_pb2.Sync.MODE_FULL}
_MODE_NAMES = {sync_pb2.Sync.MODE_INCREMENTAL: "INCREMENTAL", sync_pb2.Sync.MODE_FULL: "FULL",
               sync_pb2.Sync.MODE_UNSPECIFIED: "INCREMENTAL"}
_SYNC_STATES = {"ACTIVE": sync_pb2.Sync.STATE_ACTIVE, "PAUSED": sync_pb2.Sync.STATE_PAUSED}
_RUN_STATES = {"QUEUED": sync_pb2.SyncRun.STATE_QUEUED, "RUNNING": sync_pb2.SyncRun.STATE_RUNNING,
               "SUCCEEDED": sync_pb2.SyncRun.STATE_SUCCEEDED, "FAILED": sync_pb2.SyncRun.STATE_FAILED,
               "CANCELLED": sync_pb2.SyncRun.STATE_CANCELLED}
_TRIGGERS = {"MANUAL": sync_pb2.SyncRun.TRIGGER_MANUAL, "SCHEDULE": sync_pb2.SyncRun.TRIGGER_SCHEDULE}
_CODES = {"Unavailable": 14, "FailedPrecondition": 9, "NotFound": 5, "InvalidArgument": 3, "Internal": 13,
          "Aborted": 10, "PermissionDenied": 7}


def sync_to_proto(s: Sync) -> sync_pb2.Sync:
    return sync_pb2.Sync(
        name=s.name, display_name=s.display_name, direction=connector_pb2.SYNC_DIRECTION_EXPORT,
        object=connector_pb2.SYNC_OBJECT_SEGMENT_MEMBERS, segment=s.segment, remote_object=s.remote_object,
        field_mappings=[sync_pb2.FieldMapping(source=a, destination=b) for a, b in s.field_mappings],
        mode=_MODES[s.mode], schedule=s.schedule, time_zone=s.time_zone, state=_SYNC_STATES[s.state],
        last_run=f"{s.name}/runs/{s.last_run_id}" if s.last_run_id else "", next_run_time=timestamp(s.next_run_time),
        labels=dict(s.labels), create_time=timestamp(s.create_time), update_time=timestamp(s.update_time),
        etag=s.etag)


def run_to_proto(r: SyncRun) -> sync_pb2.SyncRun:
    message = sync_pb2.SyncRun(
        name=r.name, state=_RUN_STATES[r.state], trigger=_TRIGGERS[r.trigger], full_resync=r.full_resync,
        progress=operation_pb2.Progress(done=r.done, total=r.total, failed=r.failed,
                                        start_time=timestamp(r.start_time), update_time=timestamp(r.update_time)),
        record_errors=[sync_pb2.RecordError(record_id=e.record_id, field=e.field, reason=e.reason)
                       for e in r.record_errors],
        create_time=timestamp(r.create_time), end_time=timestamp(r.end_time), etag=r.etag,
        added_count=r.added, removed_count=r.removed, start_time=timestamp(r.start_time), attempt_count=r.attempts)
    if r.state == "FAILED":
        message.error.CopyFrom(status_pb2.Status(code=_CODES.get(r.error_code, 2), message=r.error_message))
    return message


def sync_input(message: sync_pb2.Sync) -> SyncInput:
    direction = EXPORT if message.direction == connector_pb2.SYNC_DIRECTION_EXPORT else \
        connector_pb2.SyncDirection.Name(message.direction)
    obj = SEGMENT_MEMBERS if message.object == connector_pb2.SYNC_OBJECT_SEGMENT_MEMBERS else \
        connector_pb2.SyncObject.Name(message.object)
    return SyncInput(display_name=message.display_name, direction=direction, object=obj, segment=message.segment,
                     remote_object=message.remote_object,
                     field_mappings=tuple((m.source, m.destination) for m in message.field_mappings),
                     mode=_MODE_NAMES.get(message.mode, "INCREMENTAL"), schedule=message.schedule,
                     time_zone=message.time_zone, labels=dict(message.labels), etag=message.etag)


class SyncsApi:
    """RPCs of syncs and runs; needs `self.syncs` and `self.executor`."""

    syncs: Syncs

    async def CreateSync(self, request: pb.CreateSyncRequest, context) -> sync_pb2.Sync:
        return sync_to_proto(await run_blocking(self.executor, self.syncs.create, request.parent,
                                                sync_input(request.sync), request.sync_id, request.request_id,
                                                request.validate_only))

    async def GetSync(self, request: pb.GetSyncRequest, context) -> sync_pb2.Sync:
        return sync_to_proto(await run_blocking(self.executor, self.syncs.get, request.name))

    async def ListSyncs(self, request: pb.ListSyncsRequest, context) -> pb.ListSyncsResponse:
        def page():
            fetch = list_filters.filtered_fetch(request.filter, list_filters.SYNCS,
                                                lambda after, limit: self.syncs.list(request.parent, after, limit),
                                                list_filters.position)
            return timed_keyset_page(fetch, list_filters.position, request.page_size, request.page_token,
                                     fingerprint("syncs", request.parent, request.filter))

        found, token = await run_blocking(self.executor, page)
        return pb.ListSyncsResponse(syncs=[sync_to_proto(s) for s in found], next_page_token=token)

    async def UpdateSync(self, request: pb.UpdateSyncRequest, context) -> sync_pb2.Sync:
        return sync_to_proto(await run_blocking(self.executor, self.syncs.update, request.sync.name,
                                                sync_input(request.sync), list(request.update_mask.paths),
                                                request.validate_only))

    async def DeleteSync(self, request: pb.DeleteSyncRequest, context) -> empty_pb2.Empty:
        await run_blocking(self.executor, self.syncs.delete, request.name, request.etag)
        return empty_pb2.Empty()

    async def RunSync(self, request: pb.RunSyncRequest, context) -> sync_pb2.SyncRun:
        return run_to_proto(await run_blocking(self.executor, self.syncs.run, request.name, request.etag,
                                               request.full_resync, request.request_id))

    async def PauseSync(self, request: pb.PauseSyncRequest, context) -> sync_pb2.Sync:
        return sync_to_proto(await run_blocking(self.executor, self.syncs.pause, request.name, request.etag))

    async def ResumeSync(self, request: pb.ResumeSyncRequest, context) -> sync_pb2.Sync:
        return sync_to_proto(await run_blocking(self.executor, self.syncs.resume, request.name, request.etag))

    async def GetSyncRun(self, request: pb.GetSyncRunRequest, context) -> sync_pb2.SyncRun:
        return run_to_proto(await run_blocking(self.executor, self.syncs.get_run, request.name))

    async def ListSyncRuns(self, request: pb.ListSyncRunsRequest, context) -> pb.ListSyncRunsResponse:
        def page():
            fetch = list_filters.filtered_fetch(
                request.filter, list_filters.SYNC_RUNS,
                lambda after, limit: self.syncs.list_runs(request.parent, after, limit), list_filters.position)
            return timed_keyset_page(fetch, list_filters.position, request.page_size, request.page_token,
                                     fingerprint("syncRuns", request.parent, request.filter))

        found, token = await run_blocking(self.executor, page)
        return pb.ListSyncRunsResponse(sync_runs=[run_to_proto(r) for r in found], next_page_token=token)

    async def CancelSyncRun(self, request: pb.CancelSyncRunRequest, context) -> sync_pb2.SyncRun:
        return run_to_proto(await run_blocking(self.executor, self.syncs.cancel_run, request.name, request.etag))
