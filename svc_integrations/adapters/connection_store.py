"""Connections, syncs, their runs, synced sets and change marks in SQLite or PostgreSQL
(SQLAlchemy Core). Every query is scoped by workspace; updates are conditional on the version read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as SqlConnection, Engine, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from svc_kit.errors import AlreadyExists
from svc_kit.ids import new_id

from svc_integrations.adapters.tables import connections, sync_change_marks, sync_members, sync_runs, syncs
from svc_integrations.domain import syncs as sync_domain
from svc_integrations.domain.connections import Connection
from svc_integrations.domain.connectors import Member
from svc_integrations.domain.syncs import Held, RecordError, Sync, SyncRun
from svc_integrations.service_layer.connections import KEEP

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _before(table, after: tuple[datetime, str] | None):
    if after is None:
        return True
    time, row_id = after
    return or_(table.c.create_time < time, and_(table.c.create_time == time, table.c.id < row_id))


def _after(table, after: tuple[datetime, str] | None):
    if after is None:
        return True
    time, row_id = after
    return or_(table.c.create_time > time, and_(table.c.create_time == time, table.c.id > row_id))


def _connection(row) -> Connection:
    return Connection(workspace=row.workspace, id=row.id, display_name=row.display_name, connector=row.connector,
                      parameters=dict(row.parameters or {}), state=row.state, create_time=row.create_time,
                      update_time=row.update_time, version=row.version,
                      has_credentials=row.credentials_ciphertext is not None, state_message=row.state_message,
                      check_time=row.check_time, labels=dict(row.labels or {}))


def _connection_values(c: Connection) -> dict[str, Any]:
    return {"display_name": c.display_name, "connector": c.connector, "parameters": dict(c.parameters),
            "state": c.state, "state_message": c.state_message, "check_time": c.check_time,
            "labels": dict(c.labels), "update_time": c.update_time, "version": c.version}


class SqlConnectionStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, connection: Connection, ciphertext: str | None, request_id: str) -> None:
        try:
            with self.engine.begin() as db:
                db.execute(connections.insert().values(
                    workspace=connection.workspace, id=connection.id, credentials_ciphertext=ciphertext,
                    request_id=request_id, create_time=connection.create_time, **_connection_values(connection)))
        except IntegrityError:
            raise AlreadyExists(f"{connection.name} already exists") from None

    def _one(self, *where) -> Connection | None:
        with self.engine.connect() as db:
            row = db.execute(select(connections).where(*where)).first()
        return None if row is None else _connection(row)

    def get(self, workspace: str, connection_id: str) -> Connection | None:
        return self._one(connections.c.workspace == workspace, connections.c.id == connection_id)

    def by_request(self, workspace: str, request_id: str) -> Connection | None:
        return self._one(connections.c.workspace == workspace, connections.c.request_id == request_id)

    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Connection]:
        query = (select(connections).where(connections.c.workspace == workspace, _after(connections, after))
                 .order_by(connections.c.create_time, connections.c.id).limit(limit))
        with self.engine.connect() as db:
            return [_connection(row) for row in db.execute(query)]

    def update(self, connection: Connection, expected_version: int, ciphertext=KEEP) -> bool:
        values = _connection_values(connection)
        if ciphertext is not KEEP:
            values["credentials_ciphertext"] = ciphertext
        with self.engine.begin() as db:
            result = db.execute(update(connections).where(
                connections.c.workspace == connection.workspace, connections.c.id == connection.id,
                connections.c.version == expected_version).values(**values))
        return result.rowcount == 1

    def delete(self, workspace: str, connection_id: str, expected_version: int) -> bool:
        """The connection with its syncs, their synced sets, change marks and runs (a run still going finds its
        row gone at its next report and stops)."""
        with self.engine.begin() as db:
            result = db.execute(delete(connections).where(
                connections.c.workspace == workspace, connections.c.id == connection_id,
                connections.c.version == expected_version))
            if result.rowcount != 1:
                return False
            sync_ids = select(syncs.c.id).where(syncs.c.workspace == workspace,
                                                syncs.c.connection_id == connection_id).scalar_subquery()
            for table in (sync_members, sync_change_marks):
                db.execute(delete(table).where(table.c.workspace == workspace, table.c.sync_id.in_(sync_ids)))
            db.execute(delete(sync_runs).where(sync_runs.c.workspace == workspace,
                                               sync_runs.c.connection_id == connection_id))
            db.execute(delete(syncs).where(syncs.c.workspace == workspace, syncs.c.connection_id == connection_id))
        return True

    def ciphertext(self, workspace: str, connection_id: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(connections.c.credentials_ciphertext).where(
                connections.c.workspace == workspace, connections.c.id == connection_id)).scalar()

    def set_ciphertext(self, workspace: str, connection_id: str, ciphertext: str, now: datetime) -> None:
        with self.engine.begin() as db:
            db.execute(update(connections).where(connections.c.workspace == workspace,
                                                 connections.c.id == connection_id)
                       .values(credentials_ciphertext=ciphertext, update_time=now))

    def all_ciphertexts(self) -> Iterable[tuple[str, str, str]]:
        with self.engine.connect() as db:
            rows = db.execute(select(connections.c.workspace, connections.c.id, connections.c.credentials_ciphertext)
                              .where(connections.c.credentials_ciphertext.is_not(None))).all()
        return [(row[0], row[1], row[2]) for row in rows]

    def cancel_runs(self, workspace: str, connection_id: str, now: datetime) -> int:
        """Every QUEUED or RUNNING run of a connection's syncs -> CANCELLED (the connection was disabled)."""
        with self.engine.begin() as db:
            result = db.execute(update(sync_runs).where(
                sync_runs.c.workspace == workspace, sync_runs.c.connection_id == connection_id,
                sync_runs.c.state.in_((sync_domain.QUEUED, sync_domain.RUNNING)))
                .values(state=sync_domain.CANCELLED, end_time=now, update_time=now, lease_owner="",
                        lease_until=None, version=sync_runs.c.version + 1))
        return result.rowcount


def _sync(row) -> Sync:
    return Sync(workspace=row.workspace, connection_id=row.connection_id, id=row.id, display_name=row.display_name,
                segment_id=row.segment_id, remote_object=row.remote_object, mode=row.mode, schedule=row.schedule,
                state=row.state, create_time=row.create_time, update_time=row.update_time, version=row.version,
                field_mappings=tuple(tuple(pair) for pair in row.field_mappings or ()), time_zone=row.time_zone,
                last_run_id=row.last_run_id, next_run_time=row.next_run_time,
                last_success_time=row.last_success_time, labels=dict(row.labels or {}))


def _sync_values(s: Sync) -> dict[str, Any]:
    return {"connection_id": s.connection_id, "display_name": s.display_name, "segment_id": s.segment_id,
            "remote_object": s.remote_object, "field_mappings": [list(pair) for pair in s.field_mappings],
            "mode": s.mode, "schedule": s.schedule, "time_zone": s.time_zone, "state": s.state,
            "last_run_id": s.last_run_id, "next_run_time": s.next_run_time,
            "last_success_time": s.last_success_time, "labels": dict(s.labels), "update_time": s.update_time,
            "version": s.version}


def _run(row) -> SyncRun:
    return SyncRun(workspace=row.workspace, connection_id=row.connection_id, sync_id=row.sync_id, id=row.id,
                   state=row.state, trigger=row.trigger, full_resync=row.full_resync, create_time=row.create_time,
                   update_time=row.update_time, version=row.version, request_id=row.request_id, total=row.total,
                   done=row.done, added=row.added, removed=row.removed, failed=row.failed,
                   record_errors=tuple(RecordError(e["record_id"], e["reason"], e.get("field", ""))
                                       for e in row.record_errors or ()),
                   error_code=row.error_code, error_message=row.error_message, start_time=row.start_time,
                   end_time=row.end_time, attempts=row.attempts, not_before=row.not_before,
                   lease_owner=row.lease_owner, lease_until=row.lease_until)


def _run_values(r: SyncRun) -> dict[str, Any]:
    return {"state": r.state, "total": r.total, "done": r.done, "added": r.added, "removed": r.removed,
            "failed": r.failed, "record_errors": [{"record_id": e.record_id, "reason": e.reason, "field": e.field}
                                                  for e in r.record_errors],
            "error_code": r.error_code, "error_message": r.error_message, "attempts": r.attempts,
            "not_before": r.not_before, "lease_owner": r.lease_owner, "lease_until": r.lease_until,
            "update_time": r.update_time, "start_time": r.start_time, "end_time": r.end_time, "version": r.version}


class SqlSyncStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # --- syncs -------------------------------------------------------------------------------
    def add(self, sync: Sync, request_id: str) -> None:
        try:
            with self.engine.begin() as db:
                db.execute(syncs.insert().values(workspace=sync.workspace, id=sync.id, request_id=request_id,
                                                 create_time=sync.create_time, **_sync_values(sync)))
        except IntegrityError:
            raise AlreadyExists(f"a sync {sync.id!r} already exists in workspace {sync.workspace} (sync ids are unique in a workspace)") from None

    def _one(self, *where) -> Sync | None:
        with self.engine.connect() as db:
            row = db.execute(select(syncs).where(*where)).first()
        return None if row is None else _sync(row)

    def get(self, workspace: str, sync_id: str) -> Sync | None:
        return self._one(syncs.c.workspace == workspace, syncs.c.id == sync_id)

    def by_request(self, workspace: str, request_id: str) -> Sync | None:
        return self._one(syncs.c.workspace == workspace, syncs.c.request_id == request_id)

    def list(self, workspace: str, connection_id: str | None, after: tuple[datetime, str] | None,
             limit: int) -> list[Sync]:
        """A connection's syncs (every sync of the workspace for None), newest first."""
        by_connection = True if connection_id is None else syncs.c.connection_id == connection_id
        query = (select(syncs).where(syncs.c.workspace == workspace, by_connection, _before(syncs, after))
                 .order_by(syncs.c.create_time.desc(), syncs.c.id.desc()).limit(limit))
        with self.engine.connect() as db:
            return [_sync(row) for row in db.execute(query)]

    def update(self, sync: Sync, expected_version: int) -> bool:
        with self.engine.begin() as db:
            result = db.execute(update(syncs).where(syncs.c.workspace == sync.workspace, syncs.c.id == sync.id,
                                                    syncs.c.version == expected_version)
                                .values(**_sync_values(sync)))
        return result.rowcount == 1

    def delete(self, workspace: str, sync_id: str, expected_version: int) -> bool:
        with self.engine.begin() as db:
            result = db.execute(delete(syncs).where(syncs.c.workspace == workspace, syncs.c.id == sync_id,
                                                    syncs.c.version == expected_version))
            if result.rowcount != 1:
                return False
            for table in (sync_members, sync_change_marks):
                db.execute(delete(table).where(table.c.workspace == workspace, table.c.sync_id == sync_id))
            db.execute(delete(sync_runs).where(sync_runs.c.workspace == workspace, sync_runs.c.sync_id == sync_id))
        return True

    def due(self, now: datetime, limit: int) -> list[Sync]:
        query = (select(syncs).where(syncs.c.state == sync_domain.ACTIVE, syncs.c.next_run_time.is_not(None),
                                     syncs.c.next_run_time <= now)
                 .order_by(syncs.c.next_run_time).limit(limit))
        with self.engine.connect() as db:
            return [_sync(row) for row in db.execute(query)]

    # --- runs --------------------------------------------------------------------------------
    def add_run(self, run: SyncRun) -> None:
        with self.engine.begin() as db:
            db.execute(sync_runs.insert().values(
                workspace=run.workspace, id=run.id, connection_id=run.connection_id, sync_id=run.sync_id,
                trigger=run.trigger, full_resync=run.full_resync, request_id=run.request_id,
                create_time=run.create_time, **_run_values(run)))

    def _runs(self, *where, order=None, limit: int | None = None) -> list[SyncRun]:
        query = select(sync_runs).where(*where)
        if order is not None:
            query = query.order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [_run(row) for row in db.execute(query)]

    def get_run(self, workspace: str, run_id: str) -> SyncRun | None:
        found = self._runs(sync_runs.c.workspace == workspace, sync_runs.c.id == run_id)
        return found[0] if found else None

    def run_by_request(self, workspace: str, sync_id: str, request_id: str) -> SyncRun | None:
        found = self._runs(sync_runs.c.workspace == workspace, sync_runs.c.sync_id == sync_id,
                           sync_runs.c.request_id == request_id, limit=1)
        return found[0] if found else None

    def active_run(self, workspace: str, sync_id: str) -> SyncRun | None:
        found = self._runs(sync_runs.c.workspace == workspace, sync_runs.c.sync_id == sync_id,
                           sync_runs.c.state.in_((sync_domain.QUEUED, sync_domain.RUNNING)), limit=1)
        return found[0] if found else None

    def list_runs(self, workspace: str, connection_id: str | None, sync_id: str | None,
                  after: tuple[datetime, str] | None, limit: int) -> list[SyncRun]:
        """Runs newest first, of one sync, of a connection's syncs or of the workspace's (None: any)."""
        return self._runs(sync_runs.c.workspace == workspace,
                          True if connection_id is None else sync_runs.c.connection_id == connection_id,
                          True if sync_id is None else sync_runs.c.sync_id == sync_id,
                          _before(sync_runs, after),
                          order=(sync_runs.c.create_time.desc(), sync_runs.c.id.desc()), limit=limit)

    def update_run(self, run: SyncRun, expected_version: int) -> bool:
        with self.engine.begin() as db:
            result = db.execute(update(sync_runs).where(
                sync_runs.c.workspace == run.workspace, sync_runs.c.id == run.id,
                sync_runs.c.version == expected_version).values(**_run_values(run)))
        return result.rowcount == 1

    def claim(self, now: datetime, owner: str, lease_until: datetime) -> SyncRun | None:
        """Takes the oldest run that is QUEUED and due, or RUNNING under a lapsed lease (its
        worker died); the conditional update makes one claimant win."""
        ready = or_(and_(sync_runs.c.state == sync_domain.QUEUED,
                         or_(sync_runs.c.not_before.is_(None), sync_runs.c.not_before <= now)),
                    and_(sync_runs.c.state == sync_domain.RUNNING, sync_runs.c.lease_until < now))
        for candidate in self._runs(ready, order=(sync_runs.c.create_time,), limit=5):
            with self.engine.begin() as db:
                result = db.execute(update(sync_runs).where(
                    sync_runs.c.workspace == candidate.workspace, sync_runs.c.id == candidate.id,
                    sync_runs.c.version == candidate.version).values(
                    state=sync_domain.RUNNING, lease_owner=owner, lease_until=lease_until, update_time=now,
                    start_time=candidate.start_time or now, version=candidate.version + 1))
            if result.rowcount == 1:
                return self.get_run(candidate.workspace, candidate.id)
        return None

    def progress(self, run: SyncRun, owner: str, lease_until: datetime) -> bool:
        """Saves a running run's counts (and its end) while it is still RUNNING under `owner`'s lease."""
        values = _run_values(run)
        if run.state == sync_domain.RUNNING:
            values.update(lease_owner=owner, lease_until=lease_until)
        values.pop("version")
        with self.engine.begin() as db:
            result = db.execute(update(sync_runs).where(
                sync_runs.c.workspace == run.workspace, sync_runs.c.id == run.id,
                sync_runs.c.state == sync_domain.RUNNING, sync_runs.c.lease_owner == owner)
                .values(**values, version=sync_runs.c.version + 1))
        return result.rowcount == 1

    # --- the synced set ------------------------------------------------------------------------
    def held(self, workspace: str, sync_id: str) -> dict[str, Held]:
        """The sync's whole synced set by profile id (one query; 100,000 rows are a few tens of MB)."""
        query = select(sync_members.c.profile_id, sync_members.c.email, sync_members.c.phone,
                       sync_members.c.confirmed).where(sync_members.c.workspace == workspace,
                                                       sync_members.c.sync_id == sync_id)
        with self.engine.connect() as db:
            return {row[0]: Held(row[0], row[1], row[2], bool(row[3])) for row in db.execute(query)}

    @staticmethod
    def _rows(workspace: str, sync_id: str, members: Sequence[Member], confirmed: bool) -> list[dict[str, Any]]:
        return [{"workspace": workspace, "sync_id": sync_id, "profile_id": m.profile_id, "email": m.email,
                 "phone": m.phone, "confirmed": confirmed} for m in members]

    def mark_sending(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None:
        """Before a push: the members it names, with the identifiers it sends, held unconfirmed."""
        rows = self._rows(workspace, sync_id, members, False)
        if not rows:
            return
        with self.engine.begin() as db:
            statement = _INSERT[db.dialect.name](sync_members)
            db.execute(statement.on_conflict_do_update(
                index_elements=["workspace", "sync_id", "profile_id"],
                set_={"email": statement.excluded.email, "phone": statement.excluded.phone, "confirmed": False}),
                rows)

    def begin_full(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None:
        """Before a full push: every held row unconfirmed, and the live members not held yet added
        unconfirmed (a replace cut short may have added or dropped any of them)."""
        rows = self._rows(workspace, sync_id, members, False)
        with self.engine.begin() as db:
            db.execute(update(sync_members).where(sync_members.c.workspace == workspace,
                                                  sync_members.c.sync_id == sync_id).values(confirmed=False))
            if rows:
                db.execute(_INSERT[db.dialect.name](sync_members).on_conflict_do_nothing(
                    index_elements=["workspace", "sync_id", "profile_id"]), rows)

    def record_taken(self, workspace: str, sync_id: str, confirmed: Sequence[str], dropped: Sequence[str]) -> None:
        """After a push the destination took: `confirmed` rows are held for sure, `dropped` rows
        are not held (removed, or an add it refused)."""
        with self.engine.begin() as db:
            for ids, statement in ((confirmed, update(sync_members).values(confirmed=True)),
                                   (dropped, delete(sync_members))):
                for start in range(0, len(ids), _ROWS):
                    db.execute(statement.where(sync_members.c.workspace == workspace,
                                               sync_members.c.sync_id == sync_id,
                                               sync_members.c.profile_id.in_(ids[start:start + _ROWS])))

    def replace_held(self, workspace: str, sync_id: str, members: Sequence[Member]) -> None:
        """After a full push the destination took: the synced set becomes exactly `members`."""
        rows = self._rows(workspace, sync_id, members, True)
        with self.engine.begin() as db:
            db.execute(delete(sync_members).where(sync_members.c.workspace == workspace,
                                                  sync_members.c.sync_id == sync_id))
            if rows:
                db.execute(sync_members.insert(), rows)

    # --- change marks ---------------------------------------------------------------------------
    def change_mark(self, workspace: str, sync_id: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(sync_change_marks.c.mark).where(
                sync_change_marks.c.workspace == workspace, sync_change_marks.c.sync_id == sync_id)).scalar()

    def set_change_mark(self, workspace: str, sync_id: str, mark: str) -> None:
        with self.engine.begin() as db:
            _set_marks(db, workspace, [sync_id], mark)

    def clear_change_mark(self, workspace: str, sync_id: str, mark: str) -> bool:
        """Drops the mark if it is still `mark` (no segment_updated came since it was set)."""
        with self.engine.begin() as db:
            result = db.execute(delete(sync_change_marks).where(
                sync_change_marks.c.workspace == workspace, sync_change_marks.c.sync_id == sync_id,
                sync_change_marks.c.mark == mark))
        return result.rowcount == 1


_ROWS = 500  # rows per statement


def _set_marks(db: SqlConnection, workspace: str, sync_ids: Sequence[str], mark: str) -> None:
    insert = _INSERT[db.dialect.name]
    rows = [{"workspace": workspace, "sync_id": sync_id, "mark": mark} for sync_id in sync_ids]
    for start in range(0, len(rows), _ROWS):
        statement = insert(sync_change_marks).values(rows[start:start + _ROWS])
        db.execute(statement.on_conflict_do_update(index_elements=["workspace", "sync_id"],
                                                   set_={"mark": statement.excluded.mark}))


def mark_segment_changed(db: SqlConnection, workspace: str, segment_id: str) -> int:
    """A segment_updated event (inside the consumer's inbox transaction): the segment's syncs get
    a fresh change mark, so that their next scheduled run is not skipped (paused ones too: their
    first run after resume is then not skipped either). Answers how many."""
    sync_ids = db.execute(select(syncs.c.id).where(syncs.c.workspace == workspace,
                                                   syncs.c.segment_id == segment_id)).scalars().all()
    if sync_ids:
        _set_marks(db, workspace, sync_ids, new_id())
    return len(sync_ids)
