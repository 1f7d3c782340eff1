"""Units of work: one transaction around a handler."""

from __future__ import annotations

import abc

from sqlalchemy import Engine

from svc_content.adapters.repository import (AssetRepository, SqlAssetRepository, SqlTemplateRepository,
                                             TemplateRepository)


class UnitOfWork(abc.ABC):
    templates: TemplateRepository
    assets: AssetRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


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
