"""The audit log in SQLite or PostgreSQL (SQLAlchemy Core): appended, never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, and_, insert, or_, select

from svc_kit.audit import AuditRecord

from svc_integrations.adapters.tables import audit_entries
from svc_integrations.service_layer.audit_log import AuditEntry, AuditFilter

t = audit_entries


def insert_entry(connection: Connection, event_id: str, record: AuditRecord) -> None:
    connection.execute(insert(t).values(event_id=event_id, **record.as_dict()))


def _entry(row) -> AuditEntry:
    return AuditEntry(row.event_id, AuditRecord(
        workspace=row.workspace, principal=row.principal, via=row.via, action=row.action, resource=row.resource,
        time=row.time, source_address=row.source_address, status=row.status, etag_before=row.etag_before,
        etag_after=row.etag_after))


class SqlAuditStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, event_id: str, record: AuditRecord) -> None:
        with self.engine.begin() as connection:
            insert_entry(connection, event_id, record)

    def list(self, workspace: str, where: AuditFilter, after: tuple[datetime, str] | None,
             limit: int) -> list[AuditEntry]:
        query = select(t).where(t.c.workspace == workspace)
        if where.principal:
            query = query.where(t.c.principal == where.principal)
        if where.action:
            # A full name (`.../UpdateCampaign`) or a method's short name (`UpdateCampaign`).
            query = query.where(t.c.action == where.action if "/" in where.action
                                else t.c.action.endswith("/" + where.action, autoescape=True))
        if where.resource_prefix:
            query = query.where(t.c.resource.startswith(where.resource_prefix, autoescape=True))
        if where.start_time is not None:
            query = query.where(t.c.time >= where.start_time)
        if where.end_time is not None:
            query = query.where(t.c.time < where.end_time)
        if after is not None:
            time, event_id = after
            query = query.where(or_(t.c.time < time, and_(t.c.time == time, t.c.event_id < event_id)))
        query = query.order_by(t.c.time.desc(), t.c.event_id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_entry(row) for row in connection.execute(query)]
