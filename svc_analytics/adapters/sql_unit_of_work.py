"""The unit of work over SQLAlchemy: one connection and one transaction on the
service's relational database (funnels and erasure records)."""

from __future__ import annotations

from sqlalchemy import Engine

from svc_analytics.adapters.funnel_repository import SqlErasureRepository, SqlFunnelRepository
from svc_analytics.service_layer.unit_of_work import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> SqlUnitOfWork:
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.funnels = SqlFunnelRepository(self.connection)
        self.erasures = SqlErasureRepository(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
