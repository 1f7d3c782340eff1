"""The unit of work over SQLAlchemy: one connection and one transaction on the
service's relational database (funnels and erasure records)."""

from __future__ import annotations


from svc_kit.db import SqlTransaction

from svc_analytics.adapters.funnel_repository import SqlErasureRepository, SqlFunnelRepository
from svc_analytics.service_layer.unit_of_work import UnitOfWork


class SqlUnitOfWork(SqlTransaction, UnitOfWork):
    def open_repositories(self, connection) -> None:
        self.funnels = SqlFunnelRepository(connection)
        self.erasures = SqlErasureRepository(connection)
