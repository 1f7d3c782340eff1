"""SQLAlchemy helpers shared by the services that keep relational data:
engines for SQLite (embedded default) and PostgreSQL, and a UTC timestamp type
that behaves the same on both."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.types import TypeDecorator

from svc_kit.config import ConfigError

SUPPORTED_DRIVERS = ("sqlite", "postgresql")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC datetimes, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def normalise_url(url: str, variable: str) -> str:
    """Validates a database URL from configuration; `postgresql://` uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{variable}={url!r} is not a database URL such as sqlite:///path or "
                          "postgresql://user@host/db") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DRIVERS:
        raise ConfigError(f"{variable}={url!r}: only sqlite and postgresql databases are supported")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        # pysqlite's own transaction handling stays: it begins the transaction at
        # the first write, so reads take no snapshot and a version check sees
        # the latest committed row (as on PostgreSQL under READ COMMITTED). An
        # explicit BEGIN at the first read makes every write after a concurrent
        # commit fail with "database is locked" (SQLITE_BUSY_SNAPSHOT), even
        # on other rows. The price: no SAVEPOINT (its RELEASE would commit), so
        # repositories use ON CONFLICT instead of catching IntegrityError.
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class SqlTransaction:
    """What every SQLAlchemy unit of work shares: one connection and one transaction
    per `with`, repositories opened on that connection (`open_repositories`), and a
    rollback of whatever was not committed when the block ends. Put it first among the
    bases of a service's unit of work, whose abstract class supplies the rollback-on-exit."""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    def open_repositories(self, connection) -> None:
        raise NotImplementedError

    def __enter__(self):
        super().__enter__()
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.open_repositories(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
