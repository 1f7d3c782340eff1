"""The unit of work over SQLAlchemy: one connection and one transaction."""

from __future__ import annotations


from svc_kit.db import SqlTransaction

from svc_content.adapters.repository import SqlAssetRepository, SqlTemplateRepository
from svc_content.service_layer.unit_of_work import UnitOfWork


class SqlUnitOfWork(SqlTransaction, UnitOfWork):
    """One connection and one transaction per unit of work."""

    def open_repositories(self, connection) -> None:
        self.templates = SqlTemplateRepository(connection)
        self.assets = SqlAssetRepository(connection)
