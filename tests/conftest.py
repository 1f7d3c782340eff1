"""Fixtures shared by every test package.

PostgreSQL: tests that need it take the `postgres_server` fixture and carry the
`postgres` marker. The server is the one at MKT_TEST_POSTGRES_URL when that is
set, else a throwaway one started for the session (devstack.postgres). When no
server can be had the tests are skipped with the reason, except in CI
(CI=true), where they fail: CI must really run them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.postgres import PostgresUnavailable, ThrowawayPostgres, create_database

POSTGRES_URL_VARIABLE = "MKT_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class PostgresServer:
    url: str  # of its maintenance database

    def create_database(self, name: str) -> str:
        """A fresh, empty database on this server (dropped first if a previous run left it); its URL."""
        return create_database(self.url, name)


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    external = os.environ.get(POSTGRES_URL_VARIABLE)
    if external:
        server = PostgresServer(external)
        try:
            server.create_database("mkt_test_probe")
        except Exception as error:  # noqa: BLE001 - any failure means the server is out of reach
            _unavailable(f"{POSTGRES_URL_VARIABLE}={external!r} is out of reach: {error}")
        yield server
        return
    throwaway = ThrowawayPostgres()
    try:
        throwaway.start()
    except PostgresUnavailable as error:
        _unavailable(str(error))
    try:
        yield PostgresServer(throwaway.url)
    finally:
        throwaway.stop()
