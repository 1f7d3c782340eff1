"""Use cases of the audit log: append a record (from the integrations service's own calls
and from the audit events of the others), and list a workspace's entries, newest first,
filtered by principal, action, resource prefix and time range. Nothing updates or
deletes an entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from svc_kit.audit import AuditRecord
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import parent_field


@dataclass(frozen=True)
class AuditEntry:
    id: str
    record: AuditRecord

    @property
    def name(self) -> str:
        return f"workspaces/{self.record.workspace}/auditEntries/{self.id}"


@dataclass(frozen=True)
class AuditFilter:
    principal: str = ""
    action: str = ""
    resource_prefix: str = ""
    start_time: datetime | None = None  # inclusive
    end_time: datetime | None = None    # exclusive

    def fingerprint(self) -> tuple:
        return (self.principal, self.action, self.resource_prefix,
                self.start_time.isoformat() if self.start_time else "",
                self.end_time.isoformat() if self.end_time else "")


class AuditStore(Protocol):
    def add(self, event_id: str, record: AuditRecord) -> None: ...
    def list(self, workspace: str, where: AuditFilter, after: tuple[datetime, str] | None,
             limit: int) -> list[AuditEntry]: ...


class AuditLog:
    def __init__(self, store: AuditStore, ids: Callable[[], str]):
        self.store = store
        self.ids = ids

    def append(self, record: AuditRecord) -> None:
        """The record of one of the integrations service's own calls (a fresh entry id)."""
        self.store.add(self.ids(), record)

    def list(self, parent: str, where: AuditFilter, after: tuple[datetime, str] | None,
             limit: int) -> list[AuditEntry]:
        workspace = parent_field(parent)
        violations = []
        if where.start_time and where.end_time and where.start_time >= where.end_time:
            violations.append(FieldViolation("end_time", "must be later than start_time"))
        if where.resource_prefix and not where.resource_prefix.startswith(f"workspaces/{workspace}/"):
            violations.append(FieldViolation(
                "resource_prefix", f"must start with `workspaces/{workspace}/` (a resource of the listed workspace)"))
        if violations:
            raise InvalidArgument(violations)
        return self.store.list(workspace, where, after, limit)
