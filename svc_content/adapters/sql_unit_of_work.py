"""The unit of work over SQLAlchemy: one connection and one transaction."""

from __future__ import annotations

from sqlalchemy import Engine

from svc_content.adapters.repository import SqlAssetRepository, SqlTemplateRepository
from svc_content.service_layer.unit_of_work import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """One connection and one transaction per unit of work."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> SqlUnitOfWork:
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.templates = SqlTemplateRepository(self.connection)
        self.assets = SqlAssetRepository(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
