"""Alembic for every relational service: a service's migrate.py names its
migrations folder, its migrations/env.py hands its metadata to `run_env`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, engine_from_config, pool
from sqlalchemy.exc import OperationalError

from svc_kit.config import Settings
from svc_kit.db import make_engine, normalise_url
from svc_kit.server import StartupError
from svc_kit.services import ServiceSpec
from svc_kit.settings_spec import Variable


class Migrations:
    def __init__(self, folder: Path):
        self.folder = folder

    def config(self, url: str | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.folder))
        if url:
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return config

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Brings the database to `revision` (the newest by default) in one transaction."""
        config = self.config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def run_env(context, metadata: MetaData, version_table: str = "alembic_version") -> None:
    """The body of a migrations/env.py: runs on the connection `upgrade` hands
    over, or on `sqlalchemy.url` when run from the alembic command line. A
    service's own `version_table` lets services share one database."""

    def run(connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                          compare_type=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()

    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        run(conn)


def database_url_variable(service: ServiceSpec) -> Variable:
    return Variable(service.env_prefix + "DATABASE_URL", "text", None,
                    "the service's database: sqlite:///path or postgresql://user@host/db",
                    shown_default=f"sqlite:///<state dir>/{service.name}.sqlite3")


def migrate_on_start_variable(service: ServiceSpec) -> Variable:
    # An empty value is an error, as it always was, not the default.
    return Variable(service.env_prefix + "MIGRATE_ON_START", "flag", True,
                    "bring the schema to the newest migration at start (false when a migration job does it)",
                    blank_is_unset=False)


def variables(service: ServiceSpec) -> tuple[Variable, ...]:
    """What a relational service reads for its database."""
    return database_url_variable(service), migrate_on_start_variable(service)


def database_url(settings: Settings) -> str:
    """`MKT_<SERVICE>_DATABASE_URL`, or an SQLite file `<service>.sqlite3` in the state folder."""
    variable = database_url_variable(settings.service)
    url = variable.read(settings.env) or f"sqlite:///{settings.state_dir / f'{settings.service.name}.sqlite3'}"
    return normalise_url(url, variable.name)


def migrate_on_start(settings: Settings) -> bool:
    return migrate_on_start_variable(settings.service).read(settings.env)


def open_engine(settings: Settings, migrations: Migrations, migrate_schema: bool) -> Engine:
    """The service's database, reachable and (optionally) migrated, or StartupError."""
    engine = make_engine(database_url(settings))
    try:
        if migrate_schema:
            migrations.upgrade(engine)
        else:
            with engine.connect():
                pass
    except OperationalError as error:
        engine.dispose()
        raise StartupError(f"database {engine.url.render_as_string()} is out of reach: "
                           f"{str(error.orig).strip().splitlines()[0]}") from None
    return engine
