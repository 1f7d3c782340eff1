"""Fixtures shared by every test package.

PostgreSQL: tests that need it take the `postgres_server` fixture and carry the
`postgres` marker. The server is the one at MKT_TEST_POSTGRES_URL when that is
set, else a throwaway one started for the session (devstack.servers.postgres). When no
server can be had the tests are skipped with the reason, except in CI
(CI=true), where they fail: CI must really run them.

Pulsar: the same for the `pulsar_server` fixture, with the broker at
MKT_TEST_PULSAR_URL (binary protocol, pulsar://host:6650) and
MKT_TEST_PULSAR_ADMIN_URL (REST, http://host:8080) when both are set, else a
throwaway standalone broker (devstack.servers.pulsar.ThrowawayPulsar).

ClickHouse: the same for the `clickhouse_server` fixture (and the `clickhouse` marker), with
the server at MKT_TEST_CLICKHOUSE_URL (native protocol, clickhouse://host:9000/default) when
set, else a throwaway Debian clickhouse-server (devstack.servers.clickhouse).

MongoDB wire protocol: there is no mongod; `nx_server` (nx-27017 on SQLite) and
`ferretdb_server` (FerretDB 1.x on SQLite, built once with Go) are throwaway
servers from devstack.servers.mongo, one each per session; `mongo_server` is each in
turn. Unavailable servers are handled like the others (skip; fail under
CI=true). `mongo_database_name` gives a test module a database of its own, and
`say` adds a line (a timing, say) to the run's summary."""

from __future__ import annotations

import os
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.servers.postgres import PostgresUnavailable, ThrowawayPostgres, create_database
from devstack.servers.pulsar import PulsarUnavailable, ThrowawayPulsar, pulsar_version

POSTGRES_URL_VARIABLE = "MKT_TEST_POSTGRES_URL"
PULSAR_URL_VARIABLE = "MKT_TEST_PULSAR_URL"
PULSAR_ADMIN_URL_VARIABLE = "MKT_TEST_PULSAR_ADMIN_URL"
CLICKHOUSE_URL_VARIABLE = "MKT_TEST_CLICKHOUSE_URL"


@dataclass(frozen=True)
class PostgresServer:
    url: str  # of its maintenance database

    def create_database(self, name: str) -> str:
        """A fresh, empty database on this server (dropped first if a previous run left it); its URL."""
        return create_database(self.url, name)


_SERVER_LINES: list[str] = []
_LOOKALIKE_LINES: list[str] = []  # precision@N, baseline and AUC of the lookalike model tests


def _say(request, line: str) -> None:
    """Reported in the run's summary (fixtures' own output is captured)."""
    _SERVER_LINES.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    if _SERVER_LINES:
        terminalreporter.section("real servers this run started")
        for line in _SERVER_LINES:
            terminalreporter.write_line(line)
    if _LOOKALIKE_LINES:
        terminalreporter.section("lookalike quality")
        for line in _LOOKALIKE_LINES:
            terminalreporter.write_line(line)


def _unavailable(server: str, reason: str):
    """A real server that cannot be had fails the run in CI; elsewhere its tests are skipped."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{server} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"{server} unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_server(request) -> Iterator[PostgresServer]:
    external = os.environ.get(POSTGRES_URL_VARIABLE)
    if external:
        server = PostgresServer(external)
        try:
            server.create_database("mkt_test_probe")
        except Exception as error:  # noqa: BLE001 - any failure means the server is out of reach
            _unavailable("PostgreSQL", f"{POSTGRES_URL_VARIABLE}={external!r} is out of reach: {error}")
        yield server
        return
    throwaway = ThrowawayPostgres()
    try:
        throwaway.start()
    except PostgresUnavailable as error:
        _unavailable("PostgreSQL", str(error))
    _say(request, f"PostgreSQL started: {throwaway.url}")
    try:
        yield PostgresServer(throwaway.url)
    finally:
        throwaway.stop()


@dataclass(frozen=True)
class PulsarServer:
    service_url: str  # pulsar://host:port
    admin_url: str  # http://host:port


def _probe_pulsar_admin(admin_url: str) -> None:
    with urllib.request.urlopen(f"{admin_url.rstrip('/')}/admin/v2/clusters", timeout=10) as response:
        response.read()


@pytest.fixture(scope="session")
def pulsar_server(request) -> Iterator[PulsarServer]:
    external, external_admin = os.environ.get(PULSAR_URL_VARIABLE), os.environ.get(PULSAR_ADMIN_URL_VARIABLE)
    if external or external_admin:
        if not (external and external_admin):
            _unavailable("Pulsar", f"set both {PULSAR_URL_VARIABLE} and {PULSAR_ADMIN_URL_VARIABLE}, or neither")
        try:
            _probe_pulsar_admin(external_admin)
        except Exception as error:  # noqa: BLE001 - any failure means the broker is out of reach
            _unavailable("Pulsar", f"{PULSAR_ADMIN_URL_VARIABLE}={external_admin!r} is out of reach: {error}")
        yield PulsarServer(external, external_admin)
        return
    throwaway = ThrowawayPulsar()
    started = time.monotonic()
    try:
        throwaway.start()
    except PulsarUnavailable as error:
        _unavailable("Pulsar", str(error))
    _say(request, f"Pulsar standalone broker {pulsar_version()} started in {time.monotonic() - started:.1f} s: "
                  f"{throwaway.service_url}, admin {throwaway.admin_url} (log {throwaway.log_path})")
    try:
        yield PulsarServer(throwaway.service_url, throwaway.admin_url)
    finally:
        throwaway.stop()


@dataclass(frozen=True)
class VictoriaLogsServer:
    url: str  # http://host:port

    def query(self, logsql: str, limit: int = 1000) -> list[dict]:
        from devstack.servers.victorialogs import query

        return query(self.url, logsql, limit)


@pytest.fixture(scope="session")
def victorialogs_server(request) -> Iterator[VictoriaLogsServer]:
    """A throwaway VictoriaLogs (devstack.servers.victorialogs, built once with Go); skipped when it
    cannot be had, a failure under CI=true."""
    from devstack.servers.victorialogs import ThrowawayVictoriaLogs, VictoriaLogsUnavailable

    server = ThrowawayVictoriaLogs()
    try:
        server.start()
    except VictoriaLogsUnavailable as error:
        _unavailable("VictoriaLogs", str(error))
    _say(request, f"VictoriaLogs started in {server.startup_seconds:.1f} s: {server.url}")
    try:
        yield VictoriaLogsServer(server.url)
    finally:
        server.stop()


# -- the bus of the whole-platform suites (tests/e2e, tests/mesh) ------------------------------------

BUSES_VARIABLE = "MKT_TEST_BUSES"  # comma-separated subset of BUSES; both unless set
BUSES = ("embedded", "pulsar")


def platform_buses() -> list[str]:
    """The buses the session platforms run on: each e2e and mesh test runs once per bus."""
    chosen = [b.strip() for b in os.environ.get(BUSES_VARIABLE, ",".join(BUSES)).split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BUSES))
    if unknown or not chosen:
        raise pytest.UsageError(f"{BUSES_VARIABLE}={os.environ.get(BUSES_VARIABLE)!r}: "
                                f"a comma-separated subset of {', '.join(BUSES)}")
    return chosen


def bus_env(request, bus: str, name: str) -> dict[str, str]:
    """The platform's bus settings: the embedded SQLite log, or the session's Pulsar broker with a
    namespace of this platform's own (`name`), so that two platforms sharing the broker never share a
    subscription."""
    if bus == "embedded":
        return {"MKT_BUS": "embedded"}
    server = request.getfixturevalue("pulsar_server")
    return {"MKT_BUS": "pulsar", "MKT_PULSAR_URL": server.service_url, "MKT_PULSAR_ADMIN_URL": server.admin_url,
            "MKT_PULSAR_NAMESPACE": f"public/{name}-{uuid.uuid4().hex[:8]}"}


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked embedded_only (they need the SQLite bus itself) do not run on Pulsar."""
    kept, dropped = [], []
    for item in items:
        bus = getattr(item, "callspec", None) and item.callspec.params.get("running")
        (dropped if bus == "pulsar" and item.get_closest_marker("embedded_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@dataclass(frozen=True)
class ClickHouseServer:
    url: str  # clickhouse://host:port/default (native protocol)

    def database_url(self, name: str) -> str:
        """The URL of database `name` on this server (the analytics store creates it when missing)."""
        return f"{self.url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
def clickhouse_server(request) -> Iterator[ClickHouseServer]:
    external = os.environ.get(CLICKHOUSE_URL_VARIABLE)
    if external:
        try:
            from svc_analytics.adapters.sql_engines import ClickHouseServer as Engine

            probe = Engine(external)
            probe.execute("SELECT 1")
            probe.close()
        except Exception as error:  # noqa: BLE001 - any failure means the server is out of reach
            _unavailable("ClickHouse", f"{CLICKHOUSE_URL_VARIABLE}={external!r} is out of reach: {error}")
        yield ClickHouseServer(external)
        return
    from devstack.servers.clickhouse import ClickHouseUnavailable, ThrowawayClickHouse

    throwaway = ThrowawayClickHouse()
    try:
        throwaway.start()
    except ClickHouseUnavailable as error:
        _unavailable("ClickHouse", str(error))
    _say(request, f"ClickHouse started in {throwaway.startup_seconds:.1f} s: {throwaway.url} "
                  f"(HTTP {throwaway.http_url})")
    try:
        yield ClickHouseServer(throwaway.url)
    finally:
        throwaway.stop()


@dataclass(frozen=True)
class MongoServer:
    kind: str  # "nx" (nx-27017) or "ferretdb"
    url: str  # mongodb://host:port/


def _mongo_server(request, kind: str) -> Iterator[MongoServer]:
    from devstack.servers.mongo import MongoUnavailable, ThrowawayMongo

    server = ThrowawayMongo(kind)
    started = time.monotonic()
    try:
        server.start()
    except MongoUnavailable as error:
        _unavailable(f"the {kind} MongoDB-wire server", str(error))
    _say(request, f"MongoDB-wire server {kind} started in {time.monotonic() - started:.1f} s: {server.url}")
    try:
        yield MongoServer(kind, server.url)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nx_server(request) -> Iterator[MongoServer]:
    yield from _mongo_server(request, "nx")


@pytest.fixture(scope="session")
def ferretdb_server(request) -> Iterator[MongoServer]:
    yield from _mongo_server(request, "ferretdb")


MONGO_KINDS = ("nx", "ferretdb")


@pytest.fixture(scope="session", params=MONGO_KINDS)
def mongo_server(request) -> MongoServer:
    """Each MongoDB-wire server in turn: a test taking this fixture runs once on each."""
    return request.getfixturevalue(f"{request.param}_server")


def fresh_database_name(request) -> str:
    """A database name no other test module (nor an earlier run) uses: t_<module>_<8 hex digits>.

    It fits both servers' rules (FerretDB: [a-zA-Z0-9_-], at most 63 characters)."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return f"t_{re.sub(r'[^a-z0-9_]', '_', module.lower())[:40]}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def mongo_database_name(request) -> str:
    return fresh_database_name(request)


@pytest.fixture
def say(request):
    """say(line): the line is printed in the run's summary, under the servers."""
    return lambda line: _say(request, line)


@pytest.fixture
def lookalike_quality():
    """lookalike_quality(line): the line is printed in the run's summary under "lookalike quality"."""
    return _LOOKALIKE_LINES.append
