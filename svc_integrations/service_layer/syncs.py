"""Use cases of syncs and their runs: create/get/list/update/delete, RunSync (queues a run),
pause/resume, runs (get, list, cancel), the schedule (due syncs get a queued run; an
incremental one with no change mark is skipped), and the execution of one run by a worker
(SyncRunner): a full export (first run, MODE_FULL or full_resync: the whole membership with
replace=True, the synced set then exactly what the destination took) or an incremental one
(the live membership diffed against the synced set, pushed in chunks, the synced set updated
for exactly the rows each chunk's destination took); progress and cancellation through the
run's row, which the worker holds under a lease so that a run left RUNNING by a crashed process
is taken over when the lease lapses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.errors import (Aborted, AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound,
                            ServiceError, Unavailable)
from svc_kit.names import RESOURCE_ID, WORKSPACE_ID, parent_field

from svc_integrations.domain import connections as connection_domain
from svc_integrations.domain import syncs as domain
from svc_integrations.domain.connectors import ConnectionCheckFailed, DestinationUnavailable, Member, PushResult
from svc_integrations.domain.syncs import Held, RecordError, Sync, SyncRun
from svc_integrations.service_layer.connections import Connections

log = logging.getLogger("svc_integrations.syncs")
EXPORT, SEGMENT_MEMBERS = "EXPORT", "SEGMENT_MEMBERS"
UPDATABLE = ("display_name", "remote_object", "field_mappings", "mode", "schedule", "time_zone", "labels", "segment")


class SyncStore(Protocol):
    def add(self, sync: Sync, request_id: str) -> None: ...
    def get(self, workspace: str, sync_id: str) -> Sync | None: ...
    def by_request(self, workspace: str, request_id: str) -> Sync | None: ...
    def list(self, workspace: str, connection_id: str | None, after: tuple[datetime, str] | None,
             limit: int) -> list[Sync]: ...
    def update(self, sync: Sync, expected_version: int) -> bool: ...
    def delete(self, workspace: str, sync_id: str, expected_version: int) -> bool: ...
    def due(self, now: datetime, limit: int) -> list[Sync]: ...
    # runs
    def add_run(self, run: SyncRun) -> None: ...
    def get_run(self, workspace: str, run_id: str) -> SyncRun | None: ...
    def run_by_request(self, workspace: str, sync_id: str, request_id: str) -> SyncRun | None: ...
    def active_run(self, workspace: str, sync_id: str) -> SyncRun | None: ...
    def list_runs(self, workspace: str, connection_id: str | None, sync_id: str | None,
                  after: tuple[datetime, str] | None, limit: int) -> list[SyncRun]: ...
    def update_run(self, run: SyncRun, expected_version: int) -> bool: ...
    def claim(self, now: datetime, owner: str, lease_until: datetime) -> SyncRun | None: ...
    def progress(self, run: SyncRun, owner: str, lease_until: datetime) -> bool: ...
    # the synced set: the members the destination holds, with the identifiers as sent
    def held(self, workspace: str, sync_id: str) -> dict[str, Held]: ...
    def mark_sending(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None: ...
    def begin_full(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None: ...
    def record_taken(self, workspace: str, sync_id: str, confirmed: Sequence[str],
                     dropped: Sequence[str]) -> None: ...
    def replace_held(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None: ...
    # change marks (segment_updated): a scheduled incremental run without one is skipped
    def change_mark(self, workspace: str, sync_id: str) -> str | None: ...
    def set_change_mark(self, workspace: str, sync_id: str, mark: str) -> None: ...
    def clear_change_mark(self, workspace: str, sync_id: str, mark: str) -> bool: ...


class Audience(Protocol):
    """The audience service, as a sync reads it."""

    def members(self, workspace: str, segment_id: str) -> Iterator[list[Member]]:
        """The segment's current (live) members with their email and phone, page by page."""


@dataclass(frozen=True)
class SyncInput:
    display_name: str = ""
    direction: str = ""
    object: str = ""
    segment: str = ""
    remote_object: str = ""
    field_mappings: tuple[tuple[str, str], ...] = ()
    mode: str = ""
    schedule: str = ""
    time_zone: str = ""
    labels: Mapping[str, str] | None = None
    etag: str = ""


def parse_sync_name(name: str, field_name: str = "name") -> tuple[str, str, str]:
    parts = name.split("/")
    if (len(parts) != 6 or parts[0] != "workspaces" or parts[2] != "connections" or parts[4] != "syncs"
            or not WORKSPACE_ID.fullmatch(parts[1]) or not RESOURCE_ID.fullmatch(parts[3])
            or not RESOURCE_ID.fullmatch(parts[5])):
        raise InvalidArgument(FieldViolation(field_name, "must be `workspaces/{workspace}/connections/{connection}/"
                                                         "syncs/{sync}`"))
    return parts[1], parts[3], parts[5]


def parse_run_name(name: str) -> tuple[str, str, str, str]:
    parts = name.split("/")
    if len(parts) != 8 or parts[6] != "runs" or not RESOURCE_ID.fullmatch(parts[7]):
        raise InvalidArgument(FieldViolation("name", "must be `workspaces/{workspace}/connections/{connection}/"
                                                     "syncs/{sync}/runs/{run}`"))
    workspace, connection_id, sync_id = parse_sync_name("/".join(parts[:6]))
    return workspace, connection_id, sync_id, parts[7]


def _segment_id(value: str, workspace: str, field_name: str) -> tuple[str, list[FieldViolation]]:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "segments" or not RESOURCE_ID.fullmatch(parts[3]):
        return "", [FieldViolation(field_name, "must be `workspaces/{workspace}/segments/{segment}`")]
    if parts[1] != workspace:
        return "", [FieldViolation(field_name, "must be a segment of the sync's workspace")]
    return parts[3], []


def _field_violations(given: SyncInput, workspace: str, paths: Iterable[str]) -> tuple[dict, list[FieldViolation]]:
    violations: list[FieldViolation] = []
    values: dict = {}
    paths = set(paths)
    if "display_name" in paths:
        violations += connection_domain.validate_display_name(given.display_name, "sync.display_name")
        values["display_name"] = given.display_name
    if "segment" in paths:
        segment_id, more = _segment_id(given.segment, workspace, "sync.segment")
        violations += more
        values["segment_id"] = segment_id
    if "remote_object" in paths:
        if not given.remote_object.strip() or len(given.remote_object) > 1024:
            violations.append(FieldViolation("sync.remote_object", "must be 1 to 1024 characters: the audience, "
                                                                   "list or path on the outside platform"))
        values["remote_object"] = given.remote_object
    if "field_mappings" in paths:
        for i, (source, destination) in enumerate(given.field_mappings):
            if not source or not destination:
                violations.append(FieldViolation(f"sync.field_mappings[{i}]", "source and destination are required"))
        values["field_mappings"] = tuple(given.field_mappings)
    if "mode" in paths:
        values["mode"] = given.mode or domain.INCREMENTAL
    if "schedule" in paths:
        violations += domain.schedule_violations(given.schedule, "sync.schedule")
        values["schedule"] = given.schedule.strip()
    if "time_zone" in paths:
        if given.time_zone:
            try:
                ZoneInfo(given.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                violations.append(FieldViolation("sync.time_zone", "must be an IANA time zone, for example "
                                                                   "Europe/Paris"))
        values["time_zone"] = given.time_zone
    if "labels" in paths:
        violations += connection_domain.validate_labels(given.labels or {}, "sync")
        values["labels"] = dict(given.labels or {})
    return values, violations


class Syncs:
    def __init__(self, store: SyncStore, connections: Connections, clock: Callable[[], datetime],
                 ids: Callable[[], str], wake: Callable[[], None] = lambda: None):
        self.store, self.connections, self.clock, self.ids, self.wake = store, connections, clock, ids, wake

    # --- syncs -------------------------------------------------------------------------------
    def create(self, parent: str, given: SyncInput, sync_id: str = "", request_id: str = "",
               validate_only: bool = False) -> Sync:
        connection = self.connections.get_field(parent, "parent")
        workspace = connection.workspace
        if request_id:
            earlier = self.store.by_request(workspace, request_id)
            if earlier is not None:
                return earlier
        values, violations = _field_violations(given, workspace, ("display_name", "segment", "remote_object",
                                                                  "field_mappings", "mode", "schedule",
                                                                  "time_zone", "labels"))
        if not given.segment:
            violations = [v for v in violations if v.field != "sync.segment"]
            violations.append(FieldViolation("sync.segment", "is required: the segment whose members are exported"))
        if sync_id and not RESOURCE_ID.fullmatch(sync_id):
            violations.append(FieldViolation("sync_id", "1-63 characters [a-z0-9][a-z0-9-]*"))
        spec = self.connections.registry.get(connection.connector)
        capabilities = set(spec.spec.capabilities) if spec else set()
        wanted = ((given.direction or "").lower(), (given.object or "").lower())
        if (given.direction, given.object) != (EXPORT, SEGMENT_MEMBERS):
            violations.append(FieldViolation("sync.object", "only the export of segment members "
                                                            "(SYNC_DIRECTION_EXPORT, SYNC_OBJECT_SEGMENT_MEMBERS) "
                                                            "is supported"))
        elif wanted not in capabilities:
            violations.append(FieldViolation("sync.object", f"the {connection.connector} connector does not support "
                                                            "exporting segment members"))
        connection_domain.raise_if(violations)
        now = self.clock()
        sync = Sync(workspace=workspace, connection_id=connection.id, id=sync_id or self.ids(),
                    state=domain.ACTIVE, create_time=now, update_time=now,
                    next_run_time=domain.next_run(values["schedule"], now), **values)
        if validate_only:
            return sync
        if self.store.get(workspace, sync.id) is not None:
            raise AlreadyExists(f"a sync {sync.id!r} already exists in workspace {workspace} (sync ids are unique in a workspace)")
        self.store.add(sync, request_id)
        self.wake()
        return sync

    def get(self, name: str, field_name: str = "name") -> Sync:
        workspace, connection_id, sync_id = parse_sync_name(name, field_name)
        found = self.store.get(workspace, sync_id)
        if found is None or found.connection_id != connection_id:
            raise NotFound(name)
        return found

    def list(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[Sync]:
        """A connection's syncs; `workspaces/{w}/connections/-`: every sync of the workspace."""
        if parent.endswith("/connections/-"):
            workspace = parent_field(parent.removesuffix("/connections/-"))
            return self.store.list(workspace, None, after, limit)
        connection = self.connections.get_field(parent, "parent")
        return self.store.list(connection.workspace, connection.id, after, limit)

    def update(self, name: str, given: SyncInput, paths: list[str], validate_only: bool = False) -> Sync:
        current = self.get(name, "sync.name")
        current.check_etag(given.etag)
        if not paths:
            raise InvalidArgument(FieldViolation("update_mask", f"name the fields to change: {', '.join(UPDATABLE)}"))
        unknown = [p for p in paths if p not in UPDATABLE]
        if unknown:
            raise InvalidArgument([FieldViolation("update_mask", f"{p!r} cannot be changed (changeable: "
                                                                 f"{', '.join(UPDATABLE)})") for p in unknown])
        values, violations = _field_violations(given, current.workspace, paths)
        connection_domain.raise_if(violations)
        now = self.clock()
        if "schedule" in values and current.state == domain.ACTIVE:
            values["next_run_time"] = domain.next_run(values["schedule"], now)
        if (("segment_id" in values and values["segment_id"] != current.segment_id)
                or ("remote_object" in values and values["remote_object"] != current.remote_object)):
            values["last_success_time"] = None  # a new segment or destination: the next run is a full one
        updated = replace(current, **values, update_time=now, version=current.version + 1)
        if validate_only:
            return updated
        if not self.store.update(updated, current.version):
            raise Aborted(f"{name} changed meanwhile; read it again")
        return updated

    def delete(self, name: str, etag: str = "") -> None:
        current = self.get(name)
        current.check_etag(etag)
        active = self.store.active_run(current.workspace, current.id)
        if active is not None and active.state == domain.RUNNING:
            raise FailedPrecondition(f"{active.name} is running; cancel it first")
        if not self.store.delete(current.workspace, current.id, current.version):
            raise Aborted(f"{name} changed meanwhile; read it again")

    def pause(self, name: str, etag: str = "") -> Sync:
        return self._change(name, etag, lambda sync: sync.paused(self.clock()))

    def resume(self, name: str, etag: str = "") -> Sync:
        return self._change(name, etag, lambda sync: sync.resumed(self.clock()))

    def _change(self, name: str, etag: str, change: Callable[[Sync], Sync]) -> Sync:
        current = self.get(name)
        current.check_etag(etag)
        updated = change(current)
        if updated.version != current.version and not self.store.update(updated, current.version):
            raise Aborted(f"{name} changed meanwhile; read it again")
        return updated

    # --- runs --------------------------------------------------------------------------------
    def run(self, name: str, etag: str = "", full_resync: bool = False, request_id: str = "",
            trigger: str = domain.MANUAL) -> SyncRun:
        sync = self.get(name)
        sync.check_etag(etag)
        if request_id:
            earlier = self.store.run_by_request(sync.workspace, sync.id, request_id)
            if earlier is not None:
                return earlier
        sync.require_runnable()
        connection = self.connections.get(sync.connection_name)
        if connection.state != connection_domain.ACTIVE:
            raise FailedPrecondition(f"{connection.name} is {connection.state.lower()}, not active: "
                                     + ("enable it" if connection.state == connection_domain.DISABLED else
                                        "test it (TestConnection)") + " to run its syncs")
        active = self.store.active_run(sync.workspace, sync.id)
        if active is not None:
            raise FailedPrecondition(f"{active.name} is already {active.state.lower()}; wait for it or cancel it")
        return self._queue(sync, trigger, full_resync, request_id)

    def _queue(self, sync: Sync, trigger: str, full_resync: bool, request_id: str = "") -> SyncRun:
        now = self.clock()
        run = SyncRun(workspace=sync.workspace, connection_id=sync.connection_id, sync_id=sync.id, id=self.ids(),
                      state=domain.QUEUED, trigger=trigger, full_resync=full_resync, create_time=now,
                      update_time=now, request_id=request_id)
        self.store.add_run(run)
        linked = replace(sync, last_run_id=run.id, update_time=now, version=sync.version + 1)
        self.store.update(linked, sync.version)
        self.wake()
        return run

    def get_run(self, name: str) -> SyncRun:
        workspace, connection_id, sync_id, run_id = parse_run_name(name)
        found = self.store.get_run(workspace, run_id)
        if found is None or found.sync_id != sync_id or found.connection_id != connection_id:
            raise NotFound(name)
        return found

    def list_runs(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[SyncRun]:
        """A sync's runs; `-` for the sync (and the connection) lists across them."""
        parts = parent.split("/")
        if len(parts) == 6 and "-" in (parts[3], parts[5]):
            if parts[3] == "-" and parts[5] != "-":
                raise InvalidArgument(FieldViolation("parent", "with `-` for the connection, use `-` for the "
                                                               "sync too"))
            workspace = parent_field("/".join(parts[:2]))
            connection_id = None if parts[3] == "-" else self.connections.get_field("/".join(parts[:4]),
                                                                                    "parent").id
            return self.store.list_runs(workspace, connection_id, None, after, limit)
        sync = self.get(parent, "parent")
        return self.store.list_runs(sync.workspace, sync.connection_id, sync.id, after, limit)

    def cancel_run(self, name: str, etag: str = "") -> SyncRun:
        run = self.get_run(name)
        if etag and etag != run.etag:
            raise Aborted(f"{name} changed since etag {etag!r} (now {run.etag!r}); read it again")
        if run.final:
            if run.state == domain.CANCELLED:
                return run
            raise FailedPrecondition(f"{name} already ended ({run.state.lower()})")
        now = self.clock()
        cancelled = replace(run, state=domain.CANCELLED, end_time=now, update_time=now, version=run.version + 1,
                            lease_owner="", lease_until=None)
        if not self.store.update_run(cancelled, run.version):
            return self.cancel_run(name)  # it moved on meanwhile (progress, or it ended): look again
        return cancelled

    def schedule_due(self, limit: int = 100) -> int:
        """Queues a run for each active sync whose next run time has come; answers how many."""
        now = self.clock()
        queued = 0
        for sync in self.store.due(now, limit):
            advanced = replace(sync, next_run_time=domain.next_run(sync.schedule, now), update_time=now,
                               version=sync.version + 1)
            if not self.store.update(advanced, sync.version):
                continue  # another replica took it
            connection = self.connections.store.get(sync.workspace, sync.connection_id)
            if connection is None or connection.state != connection_domain.ACTIVE:
                continue
            if self.store.active_run(sync.workspace, sync.id) is not None:
                continue
            if (sync.mode == domain.INCREMENTAL and sync.last_success_time is not None
                    and self.store.change_mark(sync.workspace, sync.id) is None):
                continue  # nothing changed since a run found nothing to send: skipped
            self._queue(advanced, domain.SCHEDULE, False)
            queued += 1
        return queued


class _Stopped(Exception):
    """The run was cancelled (or its lease lost) between two batches."""


@dataclass
class RunnerSettings:
    chunk_size: int = 1000  # diff rows per step of an incremental run
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 5
    retry_base: timedelta = timedelta(seconds=5)


class SyncRunner:
    """Executes queued runs: the worker thread calls `run_one` until it answers False."""

    def __init__(self, syncs: Syncs, audience: Audience, owner: str, settings: RunnerSettings | None = None):
        self.syncs, self.audience, self.owner = syncs, audience, owner
        self.store, self.connections, self.clock = syncs.store, syncs.connections, syncs.clock
        self.settings = settings or RunnerSettings()

    def run_one(self) -> bool:
        now = self.clock()
        run = self.store.claim(now, self.owner, now + self.settings.lease)
        if run is None:
            return False
        self.execute(run)
        return True

    def _report(self, run: SyncRun) -> SyncRun:
        """Saves the run's counts, renews the lease; _Stopped when the run is no longer ours."""
        now = self.clock()
        run = replace(run, update_time=now, version=run.version + 1)
        if not self.store.progress(run, self.owner, now + self.settings.lease):
            raise _Stopped()
        return run

    def _finish(self, run: SyncRun, state: str, **changes) -> SyncRun:
        now = self.clock()
        ended = replace(run, state=state, update_time=now, end_time=now if state in domain.FINAL else None,
                        version=run.version + 1, lease_owner="", lease_until=None, **changes)
        self.store.progress(ended, self.owner, now)
        return ended

    def execute(self, run: SyncRun) -> SyncRun:
        sync = self.store.get(run.workspace, run.sync_id)
        if sync is None:
            return self._finish(run, domain.FAILED, error_code="NotFound", error_message="the sync was deleted")
        connection = self.connections.store.get(run.workspace, run.connection_id)
        if connection is None or connection.state == connection_domain.DISABLED:
            return self._finish(run, domain.FAILED, error_code="FailedPrecondition",
                                error_message="the connection is disabled or gone")
        started = self.clock()
        # The run may change the destination: a mark until a run finds nothing to send (see _incremental).
        mark = self.syncs.ids()
        self.store.set_change_mark(sync.workspace, sync.id, mark)
        quiet = False
        try:
            connector, context = self.connections.context(connection)
            full = run.full_resync or sync.mode == domain.FULL or sync.last_success_time is None
            run = replace(run, start_time=run.start_time or started)
            if full:
                run = self._full(run, sync, connector, context)
            else:
                run, quiet = self._incremental(run, sync, connector, context)
        except _Stopped:
            log.info("sync run stopped", extra={"run": run.name})
            return run
        except ConnectionCheckFailed as error:
            self.connections.mark_failed(connection, error.reason)
            return self._finish(run, domain.FAILED, error_code="FailedPrecondition",
                                error_message=f"the platform refused the credentials: {error.reason}")
        except (DestinationUnavailable, Unavailable) as error:
            reason = error.reason if isinstance(error, DestinationUnavailable) else error.message
            wait = getattr(error, "retry_after", None)
            return self._retry(run, reason, wait)
        except ServiceError as error:
            return self._finish(run, domain.FAILED, error_code=type(error).__name__, error_message=error.message)
        except Exception:
            log.exception("sync run failed", extra={"run": run.name})
            return self._finish(run, domain.FAILED, error_code="Internal", error_message="internal error; see the "
                                                                                          "service's log")
        finished = self._finish(run, domain.SUCCEEDED)
        if quiet:
            self.store.clear_change_mark(sync.workspace, sync.id, mark)  # unless segment_updated came meanwhile
        latest = self.store.get(sync.workspace, sync.id)
        if latest is not None:
            self.store.update(replace(latest, last_success_time=started, version=latest.version + 1), latest.version)
        return finished

    def _retry(self, run: SyncRun, reason: str, retry_after: float | None) -> SyncRun:
        attempts = run.attempts + 1
        if attempts >= self.settings.max_attempts:
            return self._finish(run, domain.FAILED, attempts=attempts, error_code="Unavailable",
                                error_message=f"gave up after {attempts} attempts: {reason}")
        backoff = self.settings.retry_base * (2 ** (attempts - 1))
        if retry_after:
            backoff = max(backoff, timedelta(seconds=retry_after))
        log.info("sync run will be retried", extra={"run": run.name, "attempt": attempts})
        return self._finish(run, domain.QUEUED, attempts=attempts, not_before=self.clock() + backoff,
                            error_message=f"retrying: {reason}")

    def _push(self, run: SyncRun, connector, context, sync: Sync, adds: Sequence[Member],
              removes: Sequence[Member], replace_all: bool, offset: int) -> tuple[SyncRun, PushResult, bool]:
        """One push_members call, reporting progress (done = offset + rows the connector says it
        sent). Answers the run, the result, and whether the push went to its end: False when the
        run was cancelled (or its lease lost) during it, the connector then stopping between two
        batches without saying which rows the destination took."""
        box = [run]
        stopped = [False]

        def progress(rows_done: int) -> bool:
            try:
                box[0] = self._report(replace(box[0], done=offset + rows_done))
            except _Stopped:
                stopped[0] = True
            return stopped[0]

        result = connector.push_members(context, sync.remote_object, adds, removes, replace=replace_all,
                                        progress=progress)
        return box[0], result, not stopped[0]

    def _account(self, run: SyncRun, result: PushResult) -> SyncRun:
        errors = [RecordError(f.profile_id, f.reason) for f in result.failures]
        return replace(run, added=run.added + result.added, removed=run.removed + result.removed,
                       failed=run.failed + len(result.failures),
                       record_errors=domain.capped_errors(run.record_errors, errors))

    def _full(self, run: SyncRun, sync: Sync, connector, context) -> SyncRun:
        members = list(_unique(m for page in self.audience.members(sync.workspace, sync.segment_id) for m in page))
        run = self._report(replace(run, total=len(members), done=0, added=0, removed=0, failed=0, record_errors=()))
        # Until the destination took the whole replace, nothing it held is sure.
        self.store.begin_full(sync.workspace, sync.id, members)
        run, result, complete = self._push(run, connector, context, sync, members, [], True, 0)
        if complete:
            refused = {f.profile_id for f in result.failures}
            self.store.replace_held(sync.workspace, sync.id, [m for m in members if m.profile_id not in refused])
        run = self._report(run)  # raises _Stopped when cancelled meanwhile
        return self._report(self._account(replace(run, done=len(members)), result))

    def _incremental(self, run: SyncRun, sync: Sync, connector, context) -> tuple[SyncRun, bool]:
        """Diffs the live membership against the synced set and pushes the diff in chunks;
        answers the run and whether it was quiet (nothing to send, nothing refused)."""
        held = self.store.held(sync.workspace, sync.id)
        changes = domain.diff(held, (m for page in self.audience.members(sync.workspace, sync.segment_id)
                                     for m in page))
        del held
        rows = changes.rows
        failed_before = run.failed
        run = self._report(replace(run, total=run.done + len(rows)))
        for start in range(0, len(rows), self.settings.chunk_size):
            run = self._chunk(run, sync, connector, context, rows[start:start + self.settings.chunk_size])
        return run, not rows and run.failed == failed_before

    def _chunk(self, run: SyncRun, sync: Sync, connector, context,
               part: Sequence[tuple[str, Member | domain.Change]]) -> SyncRun:
        """One step: the removes (with the old identifiers of changed members), then the adds (with
        their new ones); before each push its rows are held unconfirmed, after it the synced set
        follows exactly what the destination took. A cut-short push leaves them unconfirmed:
        the next run sends them again."""
        ws, sync_id, offset = sync.workspace, sync.id, run.done
        gone = [row for op, row in part if op == domain.REMOVE]
        changed = [row for op, row in part if op == domain.CHANGE]
        adds = [row for op, row in part if op == domain.ADD]
        out = [*gone, *(c.old for c in changed)]
        if out:
            self.store.mark_sending(ws, sync_id, out)
            run, result, complete = self._push(run, connector, context, sync, [], out, False, offset)
            refused = {f.profile_id for f in result.failures}
            if complete:
                self.store.record_taken(ws, sync_id, [], [m.profile_id for m in out if m.profile_id not in refused])
            run = self._report(self._account(run, result))  # raises _Stopped when cancelled meanwhile
            # A changed member whose old identifiers were refused keeps them (sent again next run).
            adds += [c.new for c in changed if c.old.profile_id not in refused]
        if adds:
            self.store.mark_sending(ws, sync_id, adds)
            run, result, complete = self._push(run, connector, context, sync, adds, [], False, offset + len(gone))
            refused = {f.profile_id for f in result.failures}
            if complete:
                self.store.record_taken(ws, sync_id, [m.profile_id for m in adds if m.profile_id not in refused],
                                        [m.profile_id for m in adds if m.profile_id in refused])
            run = self._account(run, result)
        return self._report(replace(run, done=offset + len(part)))


def _unique(members: Iterable[Member]) -> Iterator[Member]:
    seen: set[str] = set()
    for member in members:
        if member.profile_id not in seen:
            seen.add(member.profile_id)
            yield member
