"""What the services' `mkt` commands share (each service's own are in its
entrypoints/cli.py; the `mkt` package assembles them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from svc_kit.app import run_tool
from svc_kit.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from svc_kit.migrations import Migrations


def migrated_engine(settings: Settings, migrations: Migrations) -> Engine:
    """The service's database (from its settings) at the newest schema, or StartupError."""
    from svc_kit.migrations import open_engine

    return open_engine(settings, migrations, migrate_schema=True)


def service_commands(subparsers, service_name: str, summary: str, description: str):
    """`mkt <service>`: the service's group of commands; returns the group, to add commands to."""
    group = subparsers.add_parser(service_name, help=summary, description=description)
    return group.add_subparsers(dest="command", required=True, metavar="COMMAND")


def add_migrate_command(commands, service_name: str, migrations: Callable[[], Migrations]) -> None:
    """`mkt <service> migrate`: brings the service's database to the newest schema; configuration
    and start-up problems end it with one line and exit code 2."""

    def migrate(settings: Settings) -> None:
        migrated_engine(settings, migrations()).dispose()
        print("migrated")

    command = commands.add_parser("migrate", help="bring the database to the newest schema",
                                  description="Brings the service's database (from its MKT_* settings) to the "
                                              "newest schema with Alembic, then prints `migrated`.")
    command.set_defaults(run=lambda args: run_tool(service_name, migrate))
