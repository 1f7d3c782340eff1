"""Funnel and erasure repositories over SQLAlchemy Core (SQLite or PostgreSQL);
their interfaces are in svc_analytics.service_layer.unit_of_work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.errors import Aborted, AlreadyExists

from svc_analytics.adapters.funnel_tables import erasures, funnels
from svc_analytics.domain.erasure import Erasure
from svc_analytics.domain.funnel import Funnel, FunnelFields, FunnelFilter, FunnelStep
from svc_analytics.service_layer.unit_of_work import Cursor, ErasureRepository, FunnelRepository

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT
_f = funnels.c
_e = erasures.c


def _name(workspace: str, funnel_id: str) -> str:
    return f"workspaces/{workspace}/funnels/{funnel_id}"


def _row(funnel: Funnel) -> dict:
    fields = funnel.fields
    return {
        "display_name": fields.display_name,
        "description": fields.description,
        "steps": [{"event_type": s.event_type, "display_name": s.display_name, "filter": s.filter}
                  for s in fields.steps],
        "conversion_window_seconds": int(funnel.conversion_window.total_seconds()),
        "labels": dict(fields.labels),
        "version": funnel.version,
        "update_time": funnel.update_time,
    }


def _funnel(row) -> Funnel:
    fields = FunnelFields(
        display_name=row.display_name, description=row.description,
        steps=tuple(FunnelStep(s["event_type"], s.get("display_name", ""), s.get("filter", "")) for s in row.steps),
        conversion_window=timedelta(seconds=row.conversion_window_seconds), labels=dict(row.labels))
    return Funnel(row.workspace, row.id, fields, row.version, row.create_time, row.update_time)


class SqlFunnelRepository(FunnelRepository):
    # A workspace holds few funnels: the label filter runs on the rows read, in pages of this many.
    SCAN = 200

    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, funnel: Funnel, request_id: str = "", request_fingerprint: str = "") -> None:
        row = _row(funnel) | {"workspace": funnel.workspace, "id": funnel.id, "create_time": funnel.create_time,
                              "request_id": request_id or None, "request_fingerprint": request_fingerprint or None}
        statement = (_INSERT[self.connection.dialect.name](funnels).values(row).on_conflict_do_nothing()
                     .returning(_f.id))
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{_name(funnel.workspace, funnel.id)} already exists")

    def get(self, workspace: str, funnel_id: str) -> Funnel | None:
        row = self.connection.execute(select(funnels).where(_f.workspace == workspace, _f.id == funnel_id)).first()
        return _funnel(row) if row else None

    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Funnel, str] | None:
        row = self.connection.execute(select(funnels).where(_f.workspace == workspace,
                                                            _f.request_id == request_id)).first()
        return (_funnel(row), row.request_fingerprint) if row else None

    def save(self, funnel: Funnel, expected_version: int) -> None:
        result = self.connection.execute(
            update(funnels).where(_f.workspace == funnel.workspace, _f.id == funnel.id,
                                  _f.version == expected_version).values(_row(funnel)))
        if result.rowcount != 1:
            raise Aborted(f"{_name(funnel.workspace, funnel.id)} was changed by another request; read it again "
                          "and retry")

    def remove(self, funnel: Funnel, expected_version: int) -> None:
        result = self.connection.execute(delete(funnels).where(_f.workspace == funnel.workspace, _f.id == funnel.id,
                                                               _f.version == expected_version))
        if result.rowcount != 1:
            raise Aborted(f"{_name(funnel.workspace, funnel.id)} was changed by another request; read it again "
                          "and retry")

    def list(self, workspace: str, where: FunnelFilter, after: Cursor | None, limit: int) -> list[Funnel]:
        found: list[Funnel] = []
        while len(found) < limit:
            query = select(funnels).where(_f.workspace == workspace)
            if after is not None:
                query = query.where(or_(_f.create_time > after[0], and_(_f.create_time == after[0], _f.id > after[1])))
            rows = self.connection.execute(query.order_by(_f.create_time, _f.id).limit(self.SCAN)).all()
            batch = [_funnel(r) for r in rows]
            found.extend(f for f in batch if where.matches(f))
            if len(rows) < self.SCAN:
                break
            after = (batch[-1].create_time, batch[-1].id)
        return found[:limit]


class SqlErasureRepository(ErasureRepository):
    def __init__(self, connection: Connection):
        self.connection = connection

    def get(self, workspace: str, profile: str) -> Erasure | None:
        row = self.connection.execute(select(erasures).where(_e.workspace == workspace, _e.profile == profile)).first()
        if row is None:
            return None
        return Erasure(row.workspace, row.profile, row.request_time, row.complete_time, row.remaining_events)

    def put(self, erasure: Erasure) -> None:
        values = {"request_time": erasure.request_time, "complete_time": erasure.complete_time,
                  "remaining_events": erasure.remaining_events}
        statement = _INSERT[self.connection.dialect.name](erasures).values(
            workspace=erasure.workspace, profile=erasure.profile, **values)
        self.connection.execute(statement.on_conflict_do_update(index_elements=[_e.workspace, _e.profile],
                                                                set_=values))
