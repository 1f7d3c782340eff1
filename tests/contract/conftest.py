"""The campaign database on both relational backends, migrated: the `engine`
of every contract module that does not define its own."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from svc_campaign import migrate
from tests.databases import migrated_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'campaign.sqlite3'}"
    else:
        module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
        url = request.getfixturevalue("postgres_server").create_database(f"{module}_{os.getpid()}")
    engine = migrated_engine(url, migrate.upgrade)
    yield engine
    engine.dispose()
