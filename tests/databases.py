"""Migrated SQL databases for the tests, written once: a service's database on SQLite
and on PostgreSQL (the `postgres_server` of tests/conftest.py), one per test module.

    sqlite_engine, postgres_engine = engine_fixtures("content", migrate.upgrade)

    @pytest.fixture(params=SQL_ENGINES)
    def engine(request):
        return empty_tables(request.getfixturevalue(request.param), metadata)
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, MetaData

from svc_kit.db import make_engine

SQL_ENGINES = ["sqlite_engine", pytest.param("postgres_engine", marks=pytest.mark.postgres)]

Upgrade = Callable[[Engine], None]


def migrated_engine(url: str, upgrade: Upgrade) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def empty_tables(engine: Engine, metadata: MetaData) -> Engine:
    """Deletes every row (children first), so that a test starts on empty tables."""
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    return engine


def sqlite_engine_fixture(service: str, upgrade: Upgrade, name: str = "sqlite_engine"):
    """A module-scoped fixture: the service's database migrated in a SQLite file."""

    @pytest.fixture(scope="module", name=name)
    def sqlite_engine(tmp_path_factory):
        engine = migrated_engine(f"sqlite:///{tmp_path_factory.mktemp(service) / f'{service}.sqlite3'}", upgrade)
        yield engine
        engine.dispose()

    return sqlite_engine


def postgres_engine_fixture(service: str, upgrade: Upgrade, name: str = "postgres_engine"):
    """A module-scoped fixture: the service's database migrated on the test PostgreSQL server."""

    @pytest.fixture(scope="module", name=name)
    def postgres_engine(postgres_server):
        engine = migrated_engine(postgres_server.create_database(f"contract_{service}_{os.getpid()}"), upgrade)
        yield engine
        engine.dispose()

    return postgres_engine


def engine_fixtures(service: str, upgrade: Upgrade):
    """The `sqlite_engine` and `postgres_engine` fixtures SQL_ENGINES names, for one test module."""
    return sqlite_engine_fixture(service, upgrade), postgres_engine_fixture(service, upgrade)
