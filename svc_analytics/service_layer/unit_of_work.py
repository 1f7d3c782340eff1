"""The relational side of the analytics service (events live in the columnar
EventStore): saved funnels and the record of profile erasures, in one
transaction per unit of work. svc_analytics.adapters.sql_unit_of_work
implements them over SQLAlchemy (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import abc
from datetime import datetime

from svc_analytics.domain.erasure import Erasure
from svc_analytics.domain.funnel import Funnel, FunnelFilter

Cursor = tuple[datetime, str]  # (create_time, id) of the last funnel served


class FunnelRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, funnel: Funnel, request_id: str = "", request_fingerprint: str = "") -> None:
        """Stores a new funnel; AlreadyExists if its id or its request id is taken."""

    @abc.abstractmethod
    def get(self, workspace: str, funnel_id: str) -> Funnel | None: ...

    @abc.abstractmethod
    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Funnel, str] | None:
        """The funnel a create with this request id made, and that request's fingerprint."""

    @abc.abstractmethod
    def save(self, funnel: Funnel, expected_version: int) -> None:
        """Writes a changed funnel; Aborted if it is no longer at `expected_version`."""

    @abc.abstractmethod
    def remove(self, funnel: Funnel, expected_version: int) -> None:
        """Deletes a funnel; Aborted if it is no longer at `expected_version`."""

    @abc.abstractmethod
    def list(self, workspace: str, where: FunnelFilter, after: Cursor | None, limit: int) -> list[Funnel]:
        """Funnels matching `where` in (create_time, id) order, strictly after the cursor."""


class ErasureRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, workspace: str, profile: str) -> Erasure | None: ...

    @abc.abstractmethod
    def put(self, erasure: Erasure) -> None:
        """Adds or replaces the profile's erasure record (one per profile: the latest request)."""


class UnitOfWork(abc.ABC):
    funnels: FunnelRepository
    erasures: ErasureRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
